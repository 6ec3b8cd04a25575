import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The app runs on 127.0.0.1:5173, an origin dev mode admits by default (CORS
// on the API, callback, logout and web-origin URLs on the emulator), on the
// same host name as dev mode's emulator (127.0.0.1:8081) so the login
// session cookie reaches silent authentication (SameSite=Lax).
export default defineConfig({
  plugins: [react()],
  server: { host: "127.0.0.1", port: 5173, strictPort: true },
  preview: { host: "127.0.0.1", port: 5173, strictPort: true },
  build: { chunkSizeWarningLimit: 1000 },
});
