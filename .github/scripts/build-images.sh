#!/usr/bin/env bash
# Builds the image of every service in a deploy.yaml (version 2) to OCI archives:
#   .github/scripts/build-images.sh DEPLOY_YAML DEST
# DEST gets image-N.tar (one per distinct Dockerfile and context: services sharing both
# share the image), services.tsv (`SERVICE<TAB>image-N.tar`, what the deployer's
# `--image SERVICE=oci-archive:…` arguments are made of) and SHA256SUMS over all of them.
# Reproducible: SOURCE_DATE_EPOCH is the last commit that changed the image's own inputs
# (image-epoch.sh) and rewrite-timestamp clamps the layers' file times to it. No cache:
# every layer is built from this checkout (deploy.yml says why). Needs `docker buildx`
# with a builder that can export OCI archives (docker/setup-buildx-action's
# docker-container driver) and the whole git history.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 DEPLOY_YAML DEST" >&2; exit 2; }
config=$1 dest=$2
here=$(cd "$(dirname "$0")" && pwd)

listing=$(python3 "$here/deploy_images.py" "$config")
mkdir -p "$dest"
: > "$dest/services.tsv"
declare -A built=()
n=0
while IFS=$'\t' read -r service dockerfile context; do
  key="$dockerfile"$'\t'"$context"
  if [ -z "${built[$key]:-}" ]; then
    n=$((n + 1))
    archive="image-$n.tar"
    epoch=$("$here/image-epoch.sh" "$context" "$dockerfile")
    echo "::group::$service: $dockerfile in $context → $archive (SOURCE_DATE_EPOCH=$epoch)"
    SOURCE_DATE_EPOCH=$epoch docker buildx build \
      --file "$dockerfile" \
      --provenance=false --sbom=false \
      --output "type=oci,dest=$dest/$archive,rewrite-timestamp=true" \
      "$context"
    echo "::endgroup::"
    built[$key]=$archive
  fi
  printf '%s\t%s\n' "$service" "${built[$key]}" >> "$dest/services.tsv"
done <<< "$listing"
(cd "$dest" && sha256sum -- image-*.tar services.tsv > SHA256SUMS)
