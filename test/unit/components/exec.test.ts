import { execFileSync } from "child_process";
import { execScript } from "../../../components/shell/exec";

describe("execScript", () => {
  test("runs the command as written in the running container, stdin kept open", () => {
    const script = execScript({ app: "web", hostName: "web-1", command: ["sh", "-c", "echo '$HOME'"] });
    expect(script).toContain(`exec docker exec -i "$app" 'sh' '-c' 'echo '\\''$HOME'\\'''\n`);
    expect(script).toContain(`[ "$(docker inspect --format '{{.State.Running}}' "$app")" = true ] ||`);
    expect(script).not.toContain("docker run");
  });

  test("a terminal adds -t", () => {
    const script = execScript({ app: "web", hostName: "web-1", command: ["bash"], tty: true });
    expect(script).toContain(`exec docker exec -it "$app" 'bash' \n`);
  });

  test("--new: a removed-after container from the app's image, env file, mounts and limits", () => {
    const script = execScript({
      app: "db",
      hostName: "web-1",
      command: ["psql", "-c", "select 1"],
      fresh: true,
    });
    expect(script).toContain(
      `--format '{{.Config.Image}} {{index .Config.Labels "hcloud-deploy.revision"}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}' "$app"`,
    );
    expect(script).toContain("env_file=/etc/hcloud-deploy/$app/$revision.env\n");
    expect(script).toContain(
      `exec docker run --rm -i --name "$app-exec-$$" \\
  --label hcloud-deploy.app-exec='db' --network hcloud-deploy --init --env-file "$env_file" --volumes-from "$app" "$@" \\
  --entrypoint 'psql' "$image" '-c' 'select 1'\n`,
    );
    expect(() => execFileSync("sh", ["-n"], { input: script })).not.toThrow();
  });

  test("no command is refused", () => {
    expect(() => execScript({ app: "web", hostName: "web-1", command: [] })).toThrow(
      "exec needs a command to run",
    );
  });
});
