/** The command line (src/cli/program.ts): what each argv runs, and every refusal with its one-line reason. */
import { describe, expect, it } from "vitest";
import { parseCommandLine, parsePort } from "../../src/cli/program.js";

const usage = (argv: string[]): string => {
  const parsed = parseCommandLine(argv);
  expect(parsed.kind, JSON.stringify(argv)).toBe("usage");
  return parsed.kind === "usage" ? parsed.message : "";
};

describe("command line", () => {
  it.each<[string[], unknown]>([
    [[], { kind: "serve", args: { transport: "stdio", allowedHosts: [] } }],
    [["serve"], { kind: "serve", args: { transport: "stdio", allowedHosts: [] } }],
    [["-c", "x.json"], { kind: "serve", args: { config: "x.json", transport: "stdio", allowedHosts: [] } }],
    // An HTTP-only option implies --transport http (it means nothing to stdio).
    [["--port", "3000"], { kind: "serve", args: { transport: "http", port: 3000, allowedHosts: [] } }],
    [["--port", "0"], { kind: "serve", args: { transport: "http", port: 0, allowedHosts: [] } }],
    [["-t", "http"], { kind: "serve", args: { transport: "http", allowedHosts: [] } }],
    [
      ["serve", "--allowed-host", "a.example", "--allowed-host", "b.example"],
      { kind: "serve", args: { transport: "http", allowedHosts: ["a.example", "b.example"] } },
    ],
    [
      ["--host", "0.0.0.0", "--auth-token", "t", "--metrics-port", "9464"],
      {
        kind: "serve",
        args: { transport: "http", host: "0.0.0.0", authToken: "t", metricsPort: 9464, allowedHosts: [] },
      },
    ],
    // --dashboard-port means something to both fronts: it implies nothing.
    [
      ["--dashboard-port", "7070"],
      { kind: "serve", args: { transport: "stdio", dashboardPort: 7070, allowedHosts: [] } },
    ],
    [
      ["--port", "0", "--dashboard-port", "0"],
      { kind: "serve", args: { transport: "http", port: 0, dashboardPort: 0, allowedHosts: [] } },
    ],
    [["validate", "--config", "a.json"], { kind: "validate", config: "a.json" }],
    [["doctor"], { kind: "doctor", args: { json: false, verbose: false } }],
    [["doctor", "--json", "--verbose"], { kind: "doctor", args: { json: true, verbose: true } }],
    [["tools", "-c", "t.json"], { kind: "tools", args: { config: "t.json", json: false, verbose: false } }],
    [
      ["import", "claude.json", "-o", "out.json", "--merge"],
      { kind: "import", file: "claude.json", out: "out.json", merge: true },
    ],
    [["init"], { kind: "init", force: false, print: false }],
    [["init", "--force"], { kind: "init", force: true, print: false }],
    [["-v"], { kind: "print", out: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) }],
  ])("%j", (argv, expected) => {
    expect(parseCommandLine(argv)).toEqual(expected);
  });

  it.each<[string[], string]>([
    [
      ["--port", "0x10"],
      'autonomous-mcp serve: --port must be a whole number from 0 to 65535, got "0x10"; see autonomous-mcp serve --help',
    ],
    [
      ["--port", "3000abc"],
      'autonomous-mcp serve: --port must be a whole number from 0 to 65535, got "3000abc"; see autonomous-mcp serve --help',
    ],
    [
      ["--port", "70000"],
      'autonomous-mcp serve: --port must be a whole number from 0 to 65535, got "70000"; see autonomous-mcp serve --help',
    ],
    [
      ["--dashboard-port", "x"],
      'autonomous-mcp serve: --dashboard-port must be a whole number from 0 to 65535, got "x"; see autonomous-mcp serve --help',
    ],
    [
      ["--port", "1e3"],
      'autonomous-mcp serve: --port must be a whole number from 0 to 65535, got "1e3"; see autonomous-mcp serve --help',
    ],
    [
      ["--port", "-1"],
      'autonomous-mcp serve: --port must be a whole number from 0 to 65535, got "-1"; see autonomous-mcp serve --help',
    ],
    [
      ["--metrics-port", " 80"],
      'autonomous-mcp serve: --metrics-port must be a whole number from 0 to 65535, got " 80"; see autonomous-mcp serve --help',
    ],
    [
      ["-t", "tcp"],
      'autonomous-mcp serve: --transport must be one of stdio, http, got "tcp"; see autonomous-mcp serve --help',
    ],
    [
      ["--transport", "stdio", "--port", "3000"],
      "autonomous-mcp serve: --port only applies to --transport http, not stdio; see autonomous-mcp serve --help",
    ],
    [
      ["-t", "stdio", "--host", "::1", "--allowed-host", "x"],
      "autonomous-mcp serve: --host, --allowed-host only applies to --transport http, not stdio; see autonomous-mcp serve --help",
    ],
    [
      ["doctr"],
      'autonomous-mcp: unknown command "doctr" (did you mean doctor?); the commands are serve, validate, tools, doctor, import, init, login, logout; see autonomous-mcp --help',
    ],
    [
      ["frobnicate"],
      'autonomous-mcp: unknown command "frobnicate"; the commands are serve, validate, tools, doctor, import, init, login, logout; see autonomous-mcp --help',
    ],
    [
      ["doctor", "--jsn"],
      'autonomous-mcp doctor: unknown option "--jsn" (did you mean --json?); see autonomous-mcp doctor --help',
    ],
    [
      ["--confg", "x.json"],
      'autonomous-mcp serve: unknown option "--confg" (did you mean --config?); see autonomous-mcp serve --help',
    ],
    [
      ["doctor", "extra"],
      'autonomous-mcp doctor: unexpected argument "extra" (doctor takes no arguments); see autonomous-mcp doctor --help',
    ],
    [
      ["serve", "doctor"],
      'autonomous-mcp serve: unexpected argument "doctor" (serve takes no arguments); see autonomous-mcp serve --help',
    ],
    [
      ["import", "a.json", "b.json"],
      'autonomous-mcp import: unexpected argument "b.json" (import takes 1 argument); see autonomous-mcp import --help',
    ],
    [["import"], 'autonomous-mcp import: missing required argument "file"; see autonomous-mcp import --help'],
    [
      ["serve", "--json"],
      "autonomous-mcp serve: --json does not apply to serve (it is an option of tools, doctor); see autonomous-mcp serve --help",
    ],
    [
      ["validate", "--verbose"],
      "autonomous-mcp validate: --verbose does not apply to validate (it is an option of tools, doctor); see autonomous-mcp validate --help",
    ],
    [
      ["tools", "--port", "1"],
      "autonomous-mcp tools: --port does not apply to tools (it is an option of serve); see autonomous-mcp tools --help",
    ],
    [
      ["init", "--config", "x"],
      "autonomous-mcp init: --config does not apply to init (it is an option of serve, validate, tools, doctor, login, logout); see autonomous-mcp init --help",
    ],
    [
      ["--config"],
      'autonomous-mcp serve: option "-c, --config <file>" argument missing; see autonomous-mcp serve --help',
    ],
    [["--config", ""], "autonomous-mcp serve: --config must not be empty; see autonomous-mcp serve --help"],
  ])("refuses %j in one line", (argv, message) => {
    const text = usage(argv);
    expect(text).toBe(message);
    expect(text).not.toContain("\n");
  });

  it("prints the overview for --help, and each command's own options for <command> --help and help <command>", () => {
    const overview = parseCommandLine(["--help"]);
    expect(overview.kind).toBe("print");
    const text = overview.kind === "print" ? overview.out : "";
    for (const c of ["serve", "validate", "tools", "doctor", "import", "init"])
      expect(text).toMatch(new RegExp(`\\n  ${c}\\b`));
    expect(text).toContain("$XDG_CONFIG_HOME/autonomous-mcp/servers.config.json");
    const own: Record<string, string[]> = {
      serve: [
        "--transport",
        "--port",
        "--host",
        "--auth-token",
        "--allowed-host",
        "--metrics-port",
        "implies --transport http",
      ],
      validate: ["--config"],
      tools: ["--json", "--verbose"],
      doctor: ["--json", "--verbose"],
      import: ["<file>", "--out", "--merge"],
      init: ["--force", "--print"],
    };
    for (const [command, options] of Object.entries(own)) {
      for (const argv of [
        [command, "--help"],
        [command, "-h"],
        ["help", command],
      ]) {
        const help = parseCommandLine(argv);
        expect(help.kind).toBe("print");
        const body = help.kind === "print" ? help.out : "";
        expect(body).toContain(`Usage: autonomous-mcp ${command}`);
        for (const o of options) expect(body, `${argv.join(" ")} names ${o}`).toContain(o);
      }
    }
    // `--help` first is the overview whatever follows; `help <unknown>` answers like an unknown command.
    const first = parseCommandLine(["--help", "doctor"]);
    expect(first.kind === "print" ? first.out : "").toMatch(/^Usage: autonomous-mcp \[command\]/);
    expect(parseCommandLine(["help", "doctr"])).toEqual({
      kind: "usage",
      message:
        'autonomous-mcp: unknown command "doctr" (did you mean doctor?); the commands are serve, validate, tools, doctor, import, init, login, logout; see autonomous-mcp --help',
    });
    // Options of other commands are not listed in a command's help.
    const doctorHelp = parseCommandLine(["doctor", "--help"]);
    expect(doctorHelp.kind === "print" ? doctorHelp.out : "").not.toContain("--port");
  });

  it("parsePort takes decimal digits 0..65535 only", () => {
    expect(parsePort("0")).toBe(0);
    expect(parsePort("65535")).toBe(65535);
    expect(parsePort("08080")).toBe(8080);
    for (const bad of ["", "0x10", "0o7", "0b1", "1e3", "1.0", "65536", "+80", "80 ", "١٢"]) {
      expect(() => parsePort(bad), bad).toThrow(/whole number from 0 to 65535/);
    }
  });
});
