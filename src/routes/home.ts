// / — a plain landing page (the app is normally reached through Hydra's redirects).
import { Router } from "express";
import type { Deps } from "./deps";
import { tOf } from "../middleware/page-locals";

export function homeRoutes(_deps: Deps): Router {
  const router = Router();
  router.get("/", (req, res) => {
    const t = tOf(res);
    res.render("message", {
      title: t("common:home.title"),
      message: t(req.session.userId ? "common:home.signedIn" : "common:home.signedOut"),
      link: { href: "/account", label: t("common:home.account") },
    });
  });
  return router;
}
