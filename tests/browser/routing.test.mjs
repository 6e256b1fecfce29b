// Browser test of the login emulator routing by host, as an environment's listener rules
// do: app.localhost goes to the service behind login, www.localhost to a second service
// process with LOGIN=none (a public page). Log in on the app host and see the user, open
// the public host and see its page with no login prompt, and a fresh browser is still
// asked to log in on the app host.
//
// Run by scripts/checks/50-browser.sh, which builds both binaries and sets SERVICE_BIN
// and DEPLOYER_BIN. Chromium resolves every *.localhost name to this machine.
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

let emulator, app, www, start, port;
const browsers = [];

before(async () => {
  const deployer = process.env.DEPLOYER_BIN;
  const serviceBin = process.env.SERVICE_BIN;
  assert.ok(deployer && serviceBin,
    'DEPLOYER_BIN and SERVICE_BIN must be set: run this through scripts/checks/50-browser.sh (or make test)');

  const [appPort, wwwPort] = [await freePort(), await freePort()];
  emulator = spawn(deployer, ['local-auth', '--listen', '127.0.0.1:0', '--output', 'json',
    '--route', `app.localhost=http://127.0.0.1:${appPort}`,
    '--route', `www.localhost=http://127.0.0.1:${wwwPort},login=none`],
  { stdio: ['ignore', 'pipe', 'inherit'] });
  start = JSON.parse(await firstLine(emulator));
  port = new URL(start.env.ALB_PUBLIC_KEYS_URL).port;

  // The login route's own environment, as printed; the public one needs only LOGIN=none.
  const appRoute = start.routes.find((r) => r.host === 'app.localhost');
  assert.equal(appRoute.login, 'cognito');
  assert.equal(start.routes.find((r) => r.host === 'www.localhost').env, null);
  app = spawn(serviceBin, [], { env: { PORT: String(appPort), ...appRoute.env }, stdio: ['ignore', 'ignore', 'inherit'] });
  www = spawn(serviceBin, [], { env: { PORT: String(wwwPort), LOGIN: 'none' }, stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForHealth(`http://127.0.0.1:${appPort}/healthz`, app);
  await waitForHealth(`http://127.0.0.1:${wwwPort}/healthz`, www);
});

after(async () => {
  for (const b of browsers) await b.close();
  emulator?.kill('SIGTERM');
  app?.kill('SIGTERM');
  www?.kill('SIGTERM');
});

async function freshBrowser(name) {
  const b = await launchBrowser(name);
  browsers.push(b);
  return b.context;
}

test('log in on the app host, reach the public host without login, and a fresh browser must log in again', async () => {
  const appOrigin = `http://app.localhost:${port}`;
  const wwwOrigin = `http://www.localhost:${port}`;
  const context = await freshBrowser('routing');
  const page = await context.newPage();

  // 1. The app host sends the browser to the login page on the emulator's own origin.
  await page.goto(`${appOrigin}/`);
  assert.match(page.url(), new RegExp(`^http://127\\.0\\.0\\.1:${port}/_alb/login\\?state=`));

  // 2. Log in: back on the app host through its /oauth2/idpresponse, and the service
  //    (behind login) shows the user.
  await page.fill('#username', 'alice');
  await Promise.all([page.waitForURL(`${appOrigin}/`), page.click('button[type=submit]')]);
  assert.equal(await page.textContent('#username'), 'alice');
  const appCookies = (await context.cookies(appOrigin)).map((c) => c.name);
  assert.ok(appCookies.includes('AWSELBAuthSessionCookie-0'), `the app host has its session cookie: ${appCookies}`);

  // 3. The public host: its page straight away, no login prompt, no user; and the app
  //    host's session cookie is the app host's only, as the load balancer's is.
  const response = await page.goto(`${wwwOrigin}/`);
  assert.equal(response.status(), 200);
  assert.equal(page.url(), `${wwwOrigin}/`, 'no redirect to a login page');
  assert.ok(await page.isVisible('#no-login'), 'the public page says no login is in front of it');
  assert.equal(await page.locator('#username').count(), 0, 'no user on the public page');
  assert.deepEqual((await context.cookies(wwwOrigin)).map((c) => c.name)
    .filter((n) => n.startsWith('AWSELBAuthSessionCookie')), [], 'no session cookie on the public host');

  // 4. Back on the app host the session still holds.
  await page.goto(`${appOrigin}/`);
  assert.equal(await page.textContent('#username'), 'alice');

  // 5. A fresh browser: the public host is open, the app host asks for a login.
  const fresh = await (await freshBrowser('routing-fresh')).newPage();
  await fresh.goto(`${wwwOrigin}/`);
  assert.ok(await fresh.isVisible('#no-login'));
  await fresh.goto(`${appOrigin}/`);
  assert.match(fresh.url(), /\/_alb\/login\?state=/);
  assert.ok(await fresh.isVisible('button[type=submit]'), 'the login form is shown');
});
