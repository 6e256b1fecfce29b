// Browser test of the local ALB login emulator (`deployer local-auth`) in front of the
// real service, in headless Debian chromium: open the proxy URL, get the login page, log
// in, see the service's page with that username, log out, land logged out, and a fresh
// visit asks for a login again.
//
// Run by scripts/checks/50-browser.sh, which builds both binaries and sets SERVICE_BIN
// and DEPLOYER_BIN. Nothing is faked here: the emulator signs the tokens and serves the
// key, and the service fetches that key and verifies them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { freePort, launchBrowser, waitForHealth } from './support.mjs';

// `--output json` prints one JSON object as the first line of stdout.
function firstLine(child) {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => { lines.close(); resolve(line); });
    child.once('exit', (code) => reject(new Error(`deployer local-auth exited with ${code} before printing`)));
  });
}

let emulator, service, start, browser, browserContext;

before(async () => {
  const deployer = process.env.DEPLOYER_BIN;
  const serviceBin = process.env.SERVICE_BIN;
  assert.ok(deployer && serviceBin,
    'DEPLOYER_BIN and SERVICE_BIN must be set: run this through scripts/checks/50-browser.sh (or make test)');

  const servicePort = await freePort();
  emulator = spawn(deployer, ['local-auth', '--listen', '127.0.0.1:0',
    '--upstream', `http://127.0.0.1:${servicePort}`, '--output', 'json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  start = JSON.parse(await firstLine(emulator));

  // Exactly the environment the emulator printed, as the README tells people to do.
  service = spawn(serviceBin, [], {
    env: { PORT: String(servicePort), ...start.env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForHealth(`http://127.0.0.1:${servicePort}/healthz`, service);

  browser = await launchBrowser('local-auth');
  browserContext = browser.context;
});

after(async () => {
  await browser?.close();
  emulator?.kill('SIGTERM');
  service?.kill('SIGTERM');
});

test('log in through the emulator, see the service page, log out, and get asked to log in again', async () => {
  const origin = start.url.replace(/\/$/, '');
  const page = await browserContext.newPage();
  const cookieNames = async () => (await browserContext.cookies(`${origin}/_alb/login`)).map((c) => c.name).sort();

  // 1. Opening the app redirects to the emulator's login page, keeping the path.
  await page.goto(`${origin}/`);
  assert.match(page.url(), /\/_alb\/login\?state=/);
  assert.equal(await page.getAttribute('form', 'action'), '/_alb/login');

  // 2. Log in: back at the app, whose verifier accepted the emulator's token.
  await page.fill('#username', 'alice');
  await page.fill('#email', 'alice@example.com');
  await Promise.all([page.waitForURL(`${origin}/`), page.click('button[type=submit]')]);
  assert.equal(await page.textContent('#username'), 'alice');
  const claims = JSON.parse(await page.textContent('#claims'));
  assert.equal(claims.email, 'alice@example.com');
  assert.equal(claims.email_verified, 'true');

  // Chromium kept the Secure, HttpOnly session shards on plain http://127.0.0.1
  // (loopback is a secure context), split at 4 KB like the ALB's.
  const session = (await browserContext.cookies(origin)).filter((c) => c.name.startsWith('AWSELBAuthSessionCookie-'));
  assert.deepEqual(session.map((c) => c.name).sort(), ['AWSELBAuthSessionCookie-0', 'AWSELBAuthSessionCookie-1']);
  for (const c of session) {
    assert.equal(c.secure, true, `${c.name} is Secure`);
    assert.equal(c.httpOnly, true, `${c.name} is HttpOnly`);
    assert.ok(c.name.length + 1 + c.value.length <= 4096, `${c.name} fits one cookie`);
  }
  assert.ok((await cookieNames()).includes('local-auth-idp-session'), 'the IdP session cookie is scoped to /_alb/');

  // 3. The service's logout expires the ALB cookies and goes to LOGOUT_URL, the
  //    emulated Cognito logout, which ends the IdP session and returns to the app,
  //    which (no session any more) shows the login page.
  await Promise.all([page.waitForURL(/\/_alb\/login\?state=/), page.click('#logout')]);
  assert.ok(await page.isVisible('#username'), 'the login form is shown');
  assert.deepEqual(await cookieNames(), [], 'no ALB shard and no IdP session left');

  // 4. A fresh visit asks for a login again, in a new tab too.
  const fresh = await browserContext.newPage();
  await fresh.goto(`${origin}/api/me`);
  assert.match(fresh.url(), /\/_alb\/login\?state=/);
  assert.ok(await fresh.isVisible('button[type=submit]'));
});
