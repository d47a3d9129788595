// Where the app's files live (views/, public/, locales/, config/): the package root, found by
// walking up from this module, so it is the same when running the TypeScript sources (tsx, jest)
// and the compiled JavaScript (dist/).
import fs from "node:fs";
import path from "node:path";

function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, "views"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package root (package.json and views/) above ${start}`);
  }
}

export const ROOT_DIR = findRoot(__dirname);
