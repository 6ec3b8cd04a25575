// What the example's tests share: the real service in dev mode (its embedded
// Auth0 emulator and Redis) built from this repository, on free loopback
// ports, and the example app built and served by `vite preview`.
import { spawn, execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const exampleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const repoRoot = path.resolve(exampleDir, "../..");

// The dev tenant's application, as dev mode configures its emulator.
export const clientId = "dev-client";
export const clientSecret = "dev-secret";
export const audience = "https://profiling-bff.local/api";

export async function freePort() {
  const srv = net.createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const { port } = srv.address();
  srv.close();
  await once(srv, "close");
  return port;
}

// Processes this test run started, stopped by their own pid at the end.
const children = [];
export function stopAll() {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
  }
}
process.on("exit", stopAll);

function start(cmd, args, opts, readyPattern, timeoutMs, name) {
  const child = spawn(cmd, args, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (buf) => {
      out += buf.toString();
      // Tools colour their output when CI is set (picocolors does), which
      // would split "http://127.0.0.1:PORT" with escape codes.
      const m = readyPattern.exec(out.replace(/\x1b\[[0-9;]*m/g, ""));
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m, output: () => out });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (b) => (out += b.toString()));
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it was ready:\n${out}`));
    });
  });
}

// startEmulator runs the stand-alone emulator (cmd/auth0emu), built from
// this repository, on a free loopback port with the given flags.
export async function startEmulator(flags = []) {
  const port = await freePort();
  const bin = buildBinary("./cmd/auth0emu", "auth0emu");
  await start(bin, ["-addr", `127.0.0.1:${port}`, ...flags], { cwd: repoRoot, env: process.env },
    /listening|127\.0\.0\.1:\d+/, 30_000, "auth0emu");
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${url}/.well-known/jwks.json`)).ok) return { url }; } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("auth0emu did not answer");
}

// startProductionService runs the built service in production mode against
// emulatorUrl, on an embedded Redis (one instance).
export async function startProductionService(emulatorUrl, env = {}) {
  const port = await freePort();
  const clean = { ...process.env };
  for (const k of Object.keys(clean)) if (/^(AUTH0_|REDIS_|GRAPHQL_|CORS_|PROFILING_|METRICS_ADDR|OTEL_)/.test(k)) delete clean[k];
  await start(buildService(), [], {
    cwd: repoRoot,
    env: {
      ...clean, PORT: String(port), BIND_ADDR: "127.0.0.1", AUTH0_DOMAIN: emulatorUrl, AUTH0_AUDIENCE: audience,
      AUTH0_CLIENT_ID: clientId, AUTH0_CLIENT_SECRET: clientSecret, REDIS_EMBEDDED: "true", SHUTDOWN_DELAY: "0",
      METRICS_ADDR: "off", // the internal listener (default 127.0.0.1:9090) would clash between instances
      ...env,
    },
  }, /listening on (http:\/\/\S+)/, 60_000, "service");
  return { url: `http://127.0.0.1:${port}`, graphqlUrl: `http://127.0.0.1:${port}/graphql` };
}

const built = new Map();
function buildBinary(pkg, name) {
  if (!built.has(pkg)) {
    const dir = mkdtempSync(path.join(tmpdir(), "bff-example-"));
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
    const out = path.join(dir, name);
    execFileSync("go", ["build", "-o", out, pkg], { cwd: repoRoot, stdio: "inherit" });
    built.set(pkg, out);
  }
  return built.get(pkg);
}

// passwordLogin logs a seeded user in with the password grant (a login).
export async function passwordLogin(emulatorUrl, email, password = "Passw0rd!") {
  const res = await fetch(`${emulatorUrl}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "password", username: email, password, client_id: clientId, audience }),
  });
  if (!res.ok) throw new Error(`login ${email}: ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}

let builtBinary;
// buildService compiles the service once per test run (the Go build cache
// makes it quick after `go test`).
export function buildService() {
  builtBinary ??= buildBinary(".", "bff");
  return builtBinary;
}

// startDevService runs the built service in dev mode (AUTH0_DOMAIN unset)
// on free loopback ports; env adds to or overrides its environment.
export async function startDevService(env = {}) {
  const port = await freePort();
  const emuPort = await freePort();
  const bin = buildService();
  const clean = { ...process.env };
  for (const k of Object.keys(clean)) {
    if (/^(AUTH0_|REDIS_|GRAPHQL_|CORS_|PROFILING_|PLAYGROUND|INTROSPECTION|BIND_ADDR|METRICS_ADDR|OTEL_)/.test(k)) delete clean[k];
  }
  const { child, output } = await start(bin, [], {
    cwd: repoRoot,
    env: { ...clean, PORT: String(port), DEV_AUTH0_ADDR: `127.0.0.1:${emuPort}`, METRICS_ADDR: "off", ...env },
  }, /listening on (http:\/\/\S+)/, 60_000, "service");
  return {
    url: `http://127.0.0.1:${port}`,
    graphqlUrl: `http://127.0.0.1:${port}/graphql`,
    emulatorUrl: `http://127.0.0.1:${emuPort}`,
    child,
    output,
  };
}

// serveApp builds the example against the given service and serves the
// build with `vite preview` on origin (http://127.0.0.1:PORT).
export async function serveApp(service, port) {
  const outDir = mkdtempSync(path.join(tmpdir(), "bff-example-dist-"));
  process.on("exit", () => rmSync(outDir, { recursive: true, force: true }));
  const vite = path.join(exampleDir, "node_modules/vite/bin/vite.js");
  const env = {
    ...process.env,
    VITE_GRAPHQL_URL: service.graphqlUrl,
    VITE_AUTH0_DOMAIN: service.emulatorUrl,
  };
  execFileSync(process.execPath, [vite, "build", "--logLevel", "warn", "--outDir", outDir, "--emptyOutDir"], { cwd: exampleDir, env, stdio: "inherit" });
  const { child } = await start(process.execPath, [vite, "preview", "--outDir", outDir, "--port", String(port), "--strictPort"], { cwd: exampleDir, env },
    /Local:\s+(http:\/\/\S+)/, 30_000, "vite preview");
  return { url: `http://127.0.0.1:${port}`, child };
}

// managementToken gets a Management API token from the emulator as a
// back-end would (client credentials).
export async function managementToken(emulatorUrl) {
  const res = await fetch(`${emulatorUrl}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret, audience: `${emulatorUrl}/api/v2/` }),
  });
  if (!res.ok) throw new Error(`management token: ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}

// readUser is the user as the tenant holds it (GET /api/v2/users/{id}).
export async function readUser(emulatorUrl, token, userId) {
  const res = await fetch(`${emulatorUrl}/api/v2/users/${encodeURIComponent(userId)}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`GET user ${userId}: ${res.status} ${await res.text()}`);
  return res.json();
}

export function jwtClaims(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
}

// The flags the Go tests start Chromium with (playground_browser_test.go):
// nothing in the background may reach the network.
export const chromiumArgs = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
];
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export function isLoopback(raw) {
  const u = new URL(raw);
  if (["data:", "blob:", "about:"].includes(u.protocol)) return true;
  return ["127.0.0.1", "localhost", "[::1]"].includes(u.hostname) || /^127\./.test(u.hostname);
}
