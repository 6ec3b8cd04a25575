// The whole journey of a new user in a real browser: the example app (built
// and served by vite preview), the real service in dev mode with its
// embedded Auth0 emulator, and Debian's Chromium driven by playwright-core.
// Each step is checked on the page and, for what was written, on what the
// emulator (the tenant) holds, read through its Management API.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import {
  exampleDir, repoRoot, freePort, startDevService, serveApp, managementToken, readUser, jwtClaims,
  chromiumArgs, chromiumPath, isLoopback, stopAll,
} from "./harness.mjs";

const shots = process.env.SCREENSHOT_DIR ?? path.join(exampleDir, "test-results", "journey");
let service, app, context, page, mgmt;
const requested = [];
const graphqlBodies = [];

before(async () => {
  const appPort = await freePort();
  const origin = `http://127.0.0.1:${appPort}`;
  // Dev mode's CORS list is also the emulator's callback, logout and
  // web-origin allow-list (devmode.go), so the app's origin is admitted on
  // both. The service runs only the app's trusted documents.
  // The product team's rules change for this journey: the sign-up prompt
  // also asks the phone (the default rules ask it only from the "engaged"
  // stage), so a bad phone number can be tried at sign-up.
  const defaults = readFileSync(path.join(repoRoot, "profiling/default_rules.yaml"), "utf8");
  const signup = "    fields: [firstName, lastName]\n";
  assert.equal(defaults.split(signup).length, 2, "the default rules' signup stage asks first and last name");
  const rulesFile = path.join(mkdtempSync(path.join(tmpdir(), "bff-rules-")), "rules.yaml");
  writeFileSync(rulesFile, defaults.replace(signup, "    fields: [firstName, lastName, phone]\n"));
  service = await startDevService({
    CORS_ALLOWED_ORIGINS: origin,
    GRAPHQL_TRUSTED_DOCUMENTS: path.join(exampleDir, "src/gql/persisted-documents.json"),
    PROFILING_RULES: rulesFile,
  });
  app = await serveApp(service, appPort);
  mgmt = await managementToken(service.emulatorUrl);
  rmSync(shots, { recursive: true, force: true });
  mkdirSync(shots, { recursive: true });
  const profile = mkdtempSync(path.join(tmpdir(), "bff-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
    viewport: { width: 900, height: 800 },
  });
  context.on("request", (r) => {
    requested.push(r.url());
    if (r.url() === service.graphqlUrl && r.method() === "POST") graphqlBodies.push(r.postDataJSON());
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
});

after(async () => {
  // On a failure, what the page showed last.
  await page?.screenshot({ path: path.join(shots, "last.png"), fullPage: true }).catch(() => {});
  if (page) console.log(`last page: ${page.url()}`);
  await context?.close();
  stopAll();
});

let step = 0;
async function shot(name) {
  step++;
  await page.screenshot({ path: path.join(shots, `${String(step).padStart(2, "0")}-${name}.png`), fullPage: true });
}

// The signed-in user's id, from the access token the app sends the API.
let userId;
function watchUserId() {
  page.on("request", (r) => {
    const auth = r.headers()["authorization"];
    if (r.url().startsWith(service.graphqlUrl) && auth?.startsWith("Bearer ")) userId = jwtClaims(auth.slice(7)).sub;
  });
}

const fieldBox = (key) => page.locator(`[data-field="${key}"]`);
const tenantUser = () => readUser(service.emulatorUrl, mgmt, userId);

test("sign up, answer, log in again, skip, answer in context, reload, see the profile", async () => {
  const email = `journey-${Date.now()}@example.com`;
  const password = "Corr3ct-horse";
  watchUserId();

  // 1. Sign up on the emulator's hosted page.
  await page.goto(app.url + "/");
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByRole("heading", { name: "Sign up" }).waitFor();
  assert.equal(new URL(page.url()).origin, service.emulatorUrl, "the emulator's hosted page");
  await page.getByLabel("Email address", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await shot("hosted-signup");
  await page.getByRole("button", { name: "Continue" }).click();

  // 2. The signup prompt: first and last name (and, by this journey's rules,
  // the phone), rendered from their descriptors.
  await page.waitForURL((u) => u.origin === app.url, { waitUntil: "commit" });
  await assert.doesNotReject(page.getByTestId("signed-in-as").getByText(email).waitFor());
  await page.getByLabel("First name", { exact: true }).waitFor();
  assert.equal(await page.getByLabel("Last name", { exact: true }).count(), 1);
  assert.match(await fieldBox("firstName").getByTestId("reason").innerText(), /Asked when you sign up/);
  assert.equal(await page.getByLabel("First name", { exact: true }).getAttribute("placeholder"), "Ada");
  assert.equal(await page.getByLabel("First name", { exact: true }).getAttribute("maxlength"), "100");
  assert.ok(userId, "the app sent the API an access token");
  await shot("signup-prompt");

  // 3. A bad phone: INVALID_PHONE shows beside its input, and nothing is
  // written, not even the valid names.
  assert.equal(await page.getByLabel("Phone", { exact: true }).count(), 1, "the phone is asked at sign-up");
  await page.getByLabel("First name", { exact: true }).fill("Ada");
  await page.getByLabel("Last name", { exact: true }).fill("Lovelace");
  await page.getByLabel("Phone", { exact: true }).fill("12345");
  const refused = page.waitForResponse((r) => r.url().startsWith(service.graphqlUrl) && r.request().method() === "POST");
  await page.getByRole("button", { name: "Save" }).click();
  const codes = JSON.stringify((await (await refused).json()).data?.updateProfile?.userErrors?.map((e) => e.code));
  assert.equal(codes, JSON.stringify(["INVALID_PHONE"]), "the API refused the phone alone");
  const phoneError = fieldBox("phone").getByRole("alert");
  await phoneError.waitFor();
  assert.match(await phoneError.innerText(), /valid phone number/);
  assert.equal(await fieldBox("firstName").getByRole("alert").count(), 0, "no error beside the valid answers");
  assert.equal(await page.getByLabel("Phone", { exact: true }).getAttribute("aria-invalid"), "true");
  let held = await tenantUser();
  assert.equal(held.user_metadata?.first_name, undefined, "a refused answer writes nothing");
  assert.equal(held.user_metadata?.phone, undefined);
  assert.equal(held.logins_count, 1);
  await shot("refused-answer");

  // 4. Corrected: every answer saved to the tenant's user_metadata, the
  // phone as E.164.
  await page.getByLabel("Phone", { exact: true }).fill("+44 20 7946 0958");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByTestId("prompt-done").waitFor();
  held = await tenantUser();
  assert.equal(held.user_metadata?.first_name, "Ada");
  assert.equal(held.user_metadata?.last_name, "Lovelace");
  assert.equal(held.user_metadata?.phone, "+442079460958");
  await shot("saved");

  // 5. Log out and in again: a second login.
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("button", { name: "Log in" }).waitFor();
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Log in" }).waitFor();
  assert.equal(new URL(page.url()).origin, service.emulatorUrl, "the emulator's hosted page");
  await page.getByLabel("Email address", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL((u) => u.origin === app.url, { waitUntil: "commit" });
  assert.equal((await tenantUser()).logins_count, 2);

  // 6. The returning stage: company and title, with their reason.
  await page.getByLabel("Company", { exact: true }).waitFor();
  await page.getByLabel("Job title", { exact: true }).waitFor();
  for (const key of ["company", "title"]) {
    assert.match(await fieldBox(key).getByTestId("reason").innerText(), /Asked on your second visit/);
  }
  await shot("returning-prompt");

  // 7. "Not now" on company: it goes, title stays; the skip is recorded
  // server-side and no answer is written.
  await page.getByRole("button", { name: "Not now: Company" }).click();
  await fieldBox("company").waitFor({ state: "detached" });
  assert.equal(await page.getByLabel("Job title", { exact: true }).count(), 1);
  held = await tenantUser();
  assert.equal(held.user_metadata?.company, undefined);
  assert.ok(JSON.stringify(held.app_metadata?.progressive_profiling ?? {}).includes("company"), "the skip is recorded: " + JSON.stringify(held.app_metadata));
  await shot("not-now-company");

  // 8. The article page asks subscribed, in context "article".
  await page.getByRole("link", { name: "Article" }).click();
  const subscribed = page.getByLabel("Subscribe to the newsletter", { exact: true });
  await subscribed.waitFor();
  assert.equal(await subscribed.getAttribute("type"), "checkbox");
  assert.match(await fieldBox("subscribed").getByTestId("reason").innerText(), /Asked while you read an article/);
  await shot("article-prompt");
  await subscribed.check();
  await page.getByRole("button", { name: "Save" }).click();
  await fieldBox("subscribed").waitFor({ state: "detached" });
  held = await tenantUser();
  assert.equal(held.user_metadata?.subscribed, true);

  // 9. Reload: still signed in through silent authentication (the SDK's
  // hidden iframe with prompt=none), no hosted page, no login counted.
  const before = requested.length;
  await page.reload();
  await page.getByTestId("signed-in-as").getByText(email).waitFor();
  await page.getByRole("heading", { name: "The Analytical Engine" }).waitFor();
  await page.getByLabel("Job title", { exact: true }).waitFor();
  const afterReload = requested.slice(before);
  assert.ok(afterReload.some((u) => u.startsWith(service.emulatorUrl + "/authorize") && u.includes("prompt=none")), "silent authentication ran:\n" + afterReload.join("\n"));
  assert.ok(!afterReload.some((u) => u.startsWith(service.emulatorUrl + "/u/")), "the hosted page was not shown");
  assert.equal((await tenantUser()).logins_count, 2, "silent authentication counts no login");
  await shot("reloaded");

  // 10. The profile page: each answer with its source and when it was collected.
  await page.getByRole("link", { name: "Profile" }).click();
  const table = page.getByTestId("profile-fields");
  await table.waitFor();
  for (const key of ["firstName", "lastName", "subscribed"]) {
    const row = table.locator(`tr[data-field="${key}"]`);
    assert.equal(await row.locator('[data-col="source"]').getAttribute("data-source"), "USER", key);
    const when = await row.locator("time").getAttribute("datetime");
    assert.ok(Math.abs(Date.parse(when) - Date.now()) < 5 * 60_000, `${key} collected just now, got ${when}`);
  }
  assert.match(await table.locator('tr[data-field="subscribed"] [data-col="collectedAt"]').innerText(), /\(article\)/);
  assert.equal(await table.locator('tr[data-field="company"] [data-col="source"]').getAttribute("data-source"), "");
  await shot("profile");

  // Every operation ran from the trusted-documents manifest by its hash
  // alone: the service never asked for a document's text.
  assert.ok(graphqlBodies.length >= 8, `GraphQL requests recorded: ${graphqlBodies.length}`);
  for (const b of graphqlBodies) {
    assert.equal(b.query, undefined, "sent by hash only: " + JSON.stringify(b));
    assert.match(b.extensions?.persistedQuery?.sha256Hash ?? "", /^[0-9a-f]{64}$/);
  }

  // Nothing left the machine.
  const outside = requested.filter((u) => !isLoopback(u));
  assert.deepEqual(outside, [], "every request the page made went to loopback");
  assert.ok(requested.length > 10, `requests were recorded (${requested.length})`);
  console.log(`journey: ${requested.length} requests, all loopback; screenshots in ${shots}`);
});
