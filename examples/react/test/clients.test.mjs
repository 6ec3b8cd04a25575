// Clients other than the browser app, against the real service: Apollo
// Client's automatic persisted queries from Node, and a mobile-style client
// (authorization code + PKCE with a custom-scheme redirect, refresh-token
// rotation, mutations through persisted queries).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import {
  audience, clientId, jwtClaims, passwordLogin, startDevService, startEmulator, startProductionService, stopAll,
} from "./harness.mjs";

after(stopAll);

const sha256 = (s) => createHash("sha256").update(s).digest("hex");

// An Apollo Client whose every HTTP request is recorded.
function apollo(graphqlUrl, getToken, requests) {
  const recordingFetch = async (url, init) => {
    const res = await fetch(url, init);
    const body = init.body ? JSON.parse(init.body) : null;
    const u = new URL(url);
    requests.push({
      method: init.method ?? "GET",
      hasQuery: Boolean(body?.query ?? u.searchParams.get("query")),
      hash: (body?.extensions ?? JSON.parse(u.searchParams.get("extensions") ?? "{}")).persistedQuery?.sha256Hash,
      status: res.status,
    });
    return res;
  };
  const auth = new ApolloLink((op, forward) => {
    op.setContext(({ headers }) => ({ headers: { ...headers, authorization: `Bearer ${getToken()}` } }));
    return forward(op);
  });
  return new ApolloClient({
    link: ApolloLink.from([auth, new PersistedQueryLink({ sha256, useGETForHashedQueries: true }), new HttpLink({ uri: graphqlUrl, fetch: recordingFetch })]),
    cache: new InMemoryCache(),
  });
}

const Prompt = gql`
  query Prompt($context: String) {
    viewer { id email pendingFields(context: $context) { key label reason } }
  }
`;
const Answer = gql`
  mutation Answer($input: UpdateProfileInput!) {
    updateProfile(input: $input) { viewer { id company } userErrors { field code message } }
  }
`;

test("automatic persisted queries with Apollo Client's link: a miss registers, then the hash alone by GET", async () => {
  const service = await startDevService();
  const token = await passwordLogin(service.emulatorUrl, "returning@example.com");
  const requests = [];
  const client = apollo(service.graphqlUrl, () => token, requests);

  const first = await client.query({ query: Prompt, variables: { context: "article" }, fetchPolicy: "network-only" });
  assert.equal(first.data.viewer.email, "returning@example.com");
  assert.deepEqual(first.data.viewer.pendingFields.map((f) => f.key), ["subscribed", "company", "title"]);
  // The hash alone by GET, PERSISTED_QUERY_NOT_FOUND, then the query with it.
  assert.equal(requests.length, 2, JSON.stringify(requests));
  assert.deepEqual([requests[0].method, requests[0].hasQuery], ["GET", false]);
  assert.equal(requests[1].hasQuery, true);
  assert.equal(requests[0].hash, requests[1].hash);

  requests.length = 0;
  const again = await client.query({ query: Prompt, variables: { context: "article" }, fetchPolicy: "network-only" });
  assert.deepEqual(again.data.viewer, first.data.viewer);
  assert.deepEqual(requests.map((r) => [r.method, r.hasQuery, r.status]), [["GET", false, 200]], "registered: the hash alone by GET");

  // A mutation goes by POST, never GET, and registers the same way.
  requests.length = 0;
  for (const company of ["Analytical Engines Ltd", "Difference Engines Ltd"]) {
    const { data } = await client.mutate({ mutation: Answer, variables: { input: { company } } });
    assert.deepEqual(data.updateProfile.userErrors, []);
    assert.equal(data.updateProfile.viewer.company, company);
  }
  assert.ok(requests.every((r) => r.method === "POST"), JSON.stringify(requests));
  assert.deepEqual(requests.map((r) => r.hasQuery), [false, true, false], "second mutation by hash alone");
});

test("a mobile client: authorization code with PKCE to a custom scheme, refresh-token rotation across expiry, mutations by hash", async () => {
  const redirectUri = "com.example.profiling://callback";
  const emu = await startEmulator(["-quiet", "-token-ttl", "2s", "-callback-urls", redirectUri]);
  const service = await startProductionService(emu.url);

  // The system browser: /authorize shows the hosted page, the user logs in,
  // and the emulator redirects to the app's custom scheme with a code.
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const state = randomBytes(8).toString("hex");
  const authorize = `${emu.url}/authorize?` + new URLSearchParams({
    client_id: clientId, response_type: "code", redirect_uri: redirectUri, audience,
    scope: "openid profile email offline_access", state, code_challenge: challenge, code_challenge_method: "S256",
  });
  let cookies = [];
  const browse = async (url, init = {}) => {
    const res = await fetch(url, { ...init, redirect: "manual", headers: { ...init.headers, cookie: cookies.join("; ") } });
    for (const c of res.headers.getSetCookie()) cookies = [...cookies.filter((k) => !k.startsWith(c.split("=")[0] + "=")), c.split(";")[0]];
    return res;
  };
  let res = await browse(authorize);
  while (res.status >= 300 && res.status < 400) res = await browse(new URL(res.headers.get("location"), emu.url).href);
  const page = await res.text();
  const txn = /name="state" value="([^"]+)"/.exec(page)?.[1];
  assert.ok(txn, "the hosted login page: " + page.slice(0, 300));
  res = await browse(`${emu.url}/u/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ state: txn, email: "new@example.com", password: "Passw0rd!", action: "default" }),
  });
  let location = res.headers.get("location");
  while (location && !location.startsWith(redirectUri)) {
    res = await browse(new URL(location, emu.url).href);
    location = res.headers.get("location");
  }
  assert.ok(location?.startsWith(redirectUri + "?"), `redirected to the app: ${res.status} ${location}`);
  const callback = new URL(location);
  assert.equal(callback.searchParams.get("state"), state);

  const token = async (params) => {
    const r = await fetch(`${emu.url}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: clientId, ...params }),
    });
    return { status: r.status, body: await r.json() };
  };
  let t = await token({ grant_type: "authorization_code", code: callback.searchParams.get("code"), code_verifier: verifier, redirect_uri: redirectUri });
  assert.equal(t.status, 200, JSON.stringify(t.body));
  let { access_token: access, refresh_token: refresh } = t.body;
  assert.ok(refresh, "offline_access gives a refresh token");
  assert.equal(t.body.expires_in, 2);

  let current = access;
  const requests = [];
  const client = apollo(service.graphqlUrl, () => current, requests);
  const { data } = await client.query({ query: Prompt, fetchPolicy: "network-only" });
  assert.equal(data.viewer.email, "new@example.com");
  assert.deepEqual(data.viewer.pendingFields.map((f) => f.key), ["firstName", "lastName"]);

  // The access token expires; the app refreshes it and gets a new refresh
  // token each time (rotation).
  await new Promise((r) => setTimeout(r, (jwtClaims(access).exp * 1000 - Date.now()) + 1100));
  assert.ok(jwtClaims(access).exp * 1000 < Date.now(), "the first access token has expired");
  t = await token({ grant_type: "refresh_token", refresh_token: refresh });
  assert.equal(t.status, 200, JSON.stringify(t.body));
  assert.notEqual(t.body.refresh_token, refresh, "the refresh token rotated");
  assert.notEqual(t.body.access_token, access);
  const rotated = t.body.refresh_token;
  current = t.body.access_token;

  requests.length = 0;
  for (const [input, want] of [[{ firstName: "Ada", lastName: "Lovelace" }, []], [{ firstName: "Ada\u200b" }, ["INVALID_CHARACTERS"]]]) {
    const { data } = await client.mutate({ mutation: Answer, variables: { input } });
    assert.deepEqual(data.updateProfile.userErrors.map((e) => e.code), want);
  }
  assert.deepEqual(requests.map((r) => [r.method, r.hasQuery]), [["POST", false], ["POST", true], ["POST", false]], "mutations through persisted queries");
  const after = await client.query({ query: Prompt, fetchPolicy: "network-only" });
  assert.deepEqual(after.data.viewer.pendingFields, [], "names saved: nothing more to ask before the next login");

  // Reusing a rotated refresh token is taken as a leak: the whole family
  // is revoked, the newest token included.
  t = await token({ grant_type: "refresh_token", refresh_token: refresh });
  assert.equal(t.status, 403);
  assert.equal(t.body.error, "invalid_grant");
  t = await token({ grant_type: "refresh_token", refresh_token: rotated });
  assert.equal(t.status, 403, "the family is revoked");
});
