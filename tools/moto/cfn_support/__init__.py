"""CloudFormation support that moto 5.2.5 lacks, for deploying this project's templates locally.

`resources` adds or completes resource types on moto's own service backends; `engine`
adds parameter constraint checks and dependent updates to moto's stack engine.
(A package, not loose modules: moto's model metaclass expects a dotted module name.)
"""

from . import engine, resources


def install() -> None:
    """Installs both into moto; call once, before the server handles requests."""
    resources.install()
    engine.install()
