import { arm64EmulationProblem } from "../../../local/arm64Emulation";

// What /proc/sys/fs/binfmt_misc/qemu-aarch64 shows after Debian's qemu-user-static line is registered.
const REGISTERED = [
  "enabled",
  "interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P",
  "flags: POF",
  "offset 0",
  "magic 7f454c460201010000000000000000000200b700",
  "mask ffffffffffffff00fffffffffffffffffeffffff",
  "",
].join("\n");

describe("arm64EmulationProblem", () => {
  test("none when qemu-aarch64 is enabled with the F flag", () => {
    expect(arm64EmulationProblem(true, REGISTERED)).toBeUndefined();
  });

  test.each([
    { mounted: false, entry: undefined, problem: "binfmt_misc is not mounted on /proc/sys/fs/binfmt_misc" },
    { mounted: true, entry: undefined, problem: "it is not registered" },
    { mounted: true, entry: REGISTERED.replace("enabled", "disabled"), problem: "it is disabled" },
    {
      mounted: true,
      entry: REGISTERED.replace("flags: POF", "flags: PO"),
      problem: "it is registered without it (flags: PO)",
    },
    {
      mounted: true,
      entry: REGISTERED.replace("flags: POF\n", ""),
      problem: "it is registered without it (no flags)",
    },
    { mounted: true, entry: "", problem: "it is unreadable" },
  ])("$problem", ({ mounted, entry, problem }) => {
    expect(arm64EmulationProblem(mounted, entry)).toBe(problem);
  });
});
