// / — a plain landing page (the app is normally reached through Hydra's redirects).
import { Router } from "express";
import type { Deps } from "./deps";

export function homeRoutes(_deps: Deps): Router {
  const router = Router();
  router.get("/", (req, res) => {
    res.render("message", {
      title: "Sign-in service",
      message: req.session.userId
        ? "You are signed in. Applications send you here to sign in and to approve access. Your account page lists what you allowed: /account"
        : "Applications send you here to sign in and to approve access. Start from the application you want to use.",
    });
  });
  return router;
}
