import { useAuth0 } from "@auth0/auth0-react";
import { Link, usePath } from "./router";
import { ProfilePrompt } from "./ProfilePrompt";
import { ProfilePage } from "./ProfilePage";

export function App() {
  const { isLoading, isAuthenticated, error, user, loginWithRedirect, logout } = useAuth0();
  const path = usePath();
  if (isLoading) return <p>Loading…</p>;
  const login = (signup: boolean) =>
    loginWithRedirect({
      appState: { returnTo: path },
      authorizationParams: signup ? { screen_hint: "signup" } : {},
    });
  return (
    <div style={{ fontFamily: "system-ui, sans-serif", maxWidth: 640, margin: "2rem auto" }}>
      <nav style={{ display: "flex", gap: "1rem", alignItems: "center" }}>
        <Link to="/">Home</Link>
        <Link to="/article">Article</Link>
        <Link to="/profile">Profile</Link>
        <span style={{ flex: 1 }} />
        {isAuthenticated ? (
          <>
            <span data-testid="signed-in-as">{user?.email}</span>
            <button onClick={() => logout({ logoutParams: { returnTo: window.location.origin } })}>Log out</button>
          </>
        ) : (
          <>
            <button onClick={() => login(false)}>Log in</button>
            <button onClick={() => login(true)}>Sign up</button>
          </>
        )}
      </nav>
      {error && <p role="alert">Sign-in failed: {error.message}</p>}
      {!isAuthenticated ? (
        <p>Sign in to see what we would like to know about you.</p>
      ) : path === "/profile" ? (
        <ProfilePage />
      ) : path === "/article" ? (
        <article>
          <h1>The Analytical Engine</h1>
          <p>
            The Analytical Engine was a proposed general-purpose mechanical computer. While you read, we
            may ask one question that fits here.
          </p>
          <ProfilePrompt context="article" />
        </article>
      ) : (
        <>
          <h1>Welcome</h1>
          <ProfilePrompt />
        </>
      )}
    </div>
  );
}
