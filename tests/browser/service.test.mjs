// Browser test of the service in headless Chromium: the page shows who is signed
// in, and following the logout link lands on LOGOUT_URL with the ALB session cookies gone.
//
// Run by scripts/checks/50-browser.sh, which builds the service and sets SERVICE_BIN.
// The token is made here with Node's crypto (ES256, ALB's padded base64url), which also
// cross-checks that the Rust verifier accepts a token it did not produce itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { generateKeyPairSync, sign, randomUUID } from 'node:crypto';
import { freePort, launchBrowser, waitForHealth } from './support.mjs';

const ALB_ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/demo/50dc6c495c0c9188';
const ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI';
const CLIENT_ID = 'browsertestclient';

const b64 = (buf) => Buffer.from(buf).toString('base64url');
// The ALB pads its base64url segments with '='.
const padded = (buf) => { const s = b64(buf); return s + '='.repeat((4 - (s.length % 4)) % 4); };

function albToken(privateKey, kid, claims) {
  const exp = Math.floor(Date.now() / 1000) + 300;
  const header = { typ: 'JWT', kid, alg: 'ES256', iss: ISSUER, client: CLIENT_ID, signer: ALB_ARN, exp };
  const input = `${padded(JSON.stringify(header))}.${padded(JSON.stringify({ ...claims, exp, iss: ISSUER }))}`;
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${padded(signature)}`;
}

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

let keyServer, keyPort, service, servicePort, browser, browserContext, privateKey, kid;

before(async () => {
  const bin = process.env.SERVICE_BIN;
  assert.ok(bin, 'SERVICE_BIN is not set: run this through scripts/checks/50-browser.sh (or make test)');
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  privateKey = pair.privateKey;
  kid = randomUUID();
  const pem = pair.publicKey.export({ type: 'spki', format: 'pem' });

  // One loopback server plays the ALB key endpoint and the page LOGOUT_URL points at.
  keyServer = createServer((req, res) => {
    if (req.url === `/keys/${kid}`) { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(pem); return; }
    if (req.url.startsWith('/logged-out')) { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<h1 id="bye">Logged out</h1>'); return; }
    res.writeHead(404); res.end();
  });
  keyPort = await listen(keyServer);

  servicePort = await freePort();
  service = spawn(bin, [], {
    env: {
      PORT: String(servicePort), ALB_ARN, ALB_PUBLIC_KEYS_URL: `http://127.0.0.1:${keyPort}/keys`,
      COGNITO_CLIENT_ID: CLIENT_ID, OIDC_ISSUER: ISSUER,
      LOGOUT_URL: `http://127.0.0.1:${keyPort}/logged-out?client_id=${CLIENT_ID}`,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForHealth(`http://127.0.0.1:${servicePort}/healthz`, service);

  browser = await launchBrowser('service');
  browserContext = browser.context;
});

after(async () => {
  await browser?.close();
  service?.kill('SIGTERM');
  keyServer?.close();
});

test('page shows the username; logout lands on LOGOUT_URL with session cookies gone', async () => {
  const origin = `http://127.0.0.1:${servicePort}`;
  const token = albToken(privateKey, kid, {
    sub: '6b1f2c3d-0000-4000-8000-00000000abcd', username: 'alice', email: 'alice@example.com', email_verified: 'true',
  });
  // What the ALB holds: session cookie shards (Secure: 127.0.0.1 counts as a secure context).
  const shards = ['AWSELBAuthSessionCookie-0', 'AWSELBAuthSessionCookie-1', 'AWSELBAuthSessionCookie-5'];
  await browserContext.addCookies(shards.map((name) => ({
    name, value: 'opaque', domain: '127.0.0.1', path: '/', secure: true, httpOnly: true, sameSite: 'Lax',
  })));
  const sessionCookies = async () => (await browserContext.cookies(origin))
    .map((c) => c.name).filter((n) => n.startsWith('AWSELBAuthSessionCookie-')).sort();
  assert.deepEqual(await sessionCookies(), shards, 'browser keeps Secure cookies for http://127.0.0.1');

  const page = await browserContext.newPage();
  // The ALB adds x-amzn-oidc-data to requests it forwards to the app, and only to those.
  await page.route((url) => url.port === String(servicePort), (route) =>
    route.continue({ headers: { ...route.request().headers(), 'x-amzn-oidc-data': token } }));

  const response = await page.goto(`${origin}/`);
  assert.equal(response.status(), 200);
  assert.equal(await page.textContent('#username'), 'alice');
  assert.equal(await page.textContent('#sub'), '6b1f2c3d-0000-4000-8000-00000000abcd');

  await Promise.all([page.waitForURL(`http://127.0.0.1:${keyPort}/logged-out**`), page.click('#logout')]);
  assert.equal(await page.textContent('#bye'), 'Logged out');
  assert.deepEqual(await sessionCookies(), [], 'every session cookie shard expired, including -5');
});
