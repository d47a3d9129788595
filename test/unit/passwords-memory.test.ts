// The concurrency gate, the compact ranked word lists, and that passwords.ts bounds argon2 work
// and loads zxcvbn's word lists only on first use.
import { createGate } from "../../src/services/gate";
import { rankWords } from "../../src/services/ranked-words";

describe("createGate", () => {
  test("runs at most `limit` tasks at once, in arrival order, and passes results and errors through", async () => {
    const gate = createGate(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const results = await Promise.allSettled(
      Array.from({ length: 7 }, (_, i) =>
        gate.run(async () => {
          started.push(i);
          running++;
          most = Math.max(most, running);
          await new Promise((r) => setTimeout(r, 5));
          running--;
          if (i === 3) throw new Error("task 3");
          return i;
        }),
      ),
    );
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(results[3]).toEqual({ status: "rejected", reason: new Error("task 3") });
    expect(results.filter((r) => r.status === "fulfilled").map((r) => (r as PromiseFulfilledResult<number>).value)).toEqual([0, 1, 2, 4, 5, 6]);
    expect({ active: gate.active, waiting: gate.waiting }).toEqual({ active: 0, waiting: 0 });
  });

  test("a raised limit lets waiting tasks start at once; a limit below 1 is refused", async () => {
    const gate = createGate(1);
    let release!: () => void;
    const first = gate.run(() => new Promise<void>((r) => (release = r)));
    const second = gate.run(async () => "second");
    await new Promise((r) => setImmediate(r));
    expect(gate.waiting).toBe(1);
    gate.limit = 2;
    await expect(second).resolves.toBe("second");
    release();
    await first;
    expect(() => (gate.limit = 0)).toThrow(RangeError);
    expect(() => createGate(1.5)).toThrow(RangeError);
  });
});

describe("rankWords", () => {
  test("answers like zxcvbn-ts's buildRankedDictionary: rank = position + 1, the last of duplicates, numbers as text", () => {
    const { words, maxWordSize } = rankWords(["password", "123456", 2024, "password", "straße", "qwerty"]);
    const plain: Record<string, number> = {};
    ["password", "123456", 2024, "password", "straße", "qwerty"].forEach((w, i) => (plain[String(w)] = i + 1));
    for (const w of ["password", "123456", "2024", "straße", "qwerty"]) expect(words[w]).toBe(plain[w]);
    expect(words["passwor"]).toBeUndefined();
    expect(words["passwords"]).toBeUndefined();
    expect(words[""]).toBeUndefined();
    expect(words["constructor"]).toBeUndefined();
    expect("qwerty" in words).toBe(true);
    expect(maxWordSize).toBe(8);
    expect(rankWords([]).maxWordSize).toBe(0);
  });

  test("finds every word of a large list (collisions included)", () => {
    const list = Array.from({ length: 50_000 }, (_, i) => `w${(i * 7919) % 100_003}`);
    const { words } = rankWords(list);
    const expected = new Map<string, number>();
    list.forEach((w, i) => expected.set(w, i + 1));
    const wrong = [...expected].filter(([w, rank]) => words[w] !== rank);
    expect(wrong).toEqual([]);
    expect(words["w100004"]).toBeUndefined();
  });
});

describe("passwords.ts", () => {
  test("importing it loads no zxcvbn word list; the first strength check does, with zxcvbn-ts's own answers", () => {
    jest.isolateModules(() => {
      const loaded = () => Object.keys(require.cache).filter((f) => /@zxcvbn-ts[\\/]language-/.test(f));
      // Under jest require.cache is jest's registry; what matters is that nothing was required yet.
      const before = loaded().length;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const p = require("../../src/services/passwords") as typeof import("../../src/services/passwords");
      expect(loaded().length).toBe(before);
      const weak = p.passwordStrength("password1234", []);
      expect(weak.acceptable).toBe(false);
      expect(weak.feedback.warning).toBe("similarToCommon");
      expect(p.passwordStrength("bench correct horse battery staple", []).score).toBe(4);
    });
  });

  test.each([
    [1, 1],
    [2, 1],
    [3, 2],
    [4, 2],
    [64, 2],
  ])("the default number of hashes at once on %i core(s) is %i", async (cores, expected) => {
    const p = await import("../../src/services/passwords");
    expect(p.defaultHashConcurrency(cores)).toBe(expected);
  });

  test("new hashes use OWASP's 12 MiB argon2id parameters; a hash made with the 19 MiB ones still verifies", async () => {
    const p = await import("../../src/services/passwords");
    const argon2 = (await import("argon2")).default;
    expect(await p.hashPassword("correct horse battery staple")).toMatch(/^\$argon2id\$v=19\$m=12288,p=1,t=3\$/);
    const older = await argon2.hash("correct horse battery staple", { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    expect(await p.verifyPassword(older, "correct horse battery staple")).toBe(true);
    expect(await p.verifyPassword(older, "wrong horse battery staple")).toBe(false);
  });

  test("argon2 work runs at most PASSWORD_HASH_CONCURRENCY at a time, and verifications still succeed", async () => {
    const p = await import("../../src/services/passwords");
    p.setPasswordHashConcurrency(1);
    const hash = await p.hashPassword("correct horse battery staple");
    let most = 0;
    const timer = setInterval(() => (most = Math.max(most, p.passwordHashLoad().active)), 1);
    const results = await Promise.all([...Array(4)].map((_, i) => p.verifyPassword(i === 3 ? null : hash, "correct horse battery staple")));
    clearInterval(timer);
    expect(results).toEqual([true, true, true, false]);
    expect(most).toBeLessThanOrEqual(1);
    expect(p.passwordHashLoad()).toEqual({ active: 0, waiting: 0 });
  });
});
