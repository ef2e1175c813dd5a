#!/usr/bin/env node
// A native-`solc`-compatible front end to the npm `solc` package (the compiler's
// wasm build), for Consortia's compiler (consortia.evm.compiler) and for Slither
// (`--solc solc_wrapper`). It understands exactly two invocations:
//
//   solc --version
//       prints "solc, the solidity compiler commandline interface\nVersion: X"
//       like the native binary, X being the npm compiler's full version.
//   solc --standard-json [--allow-paths DIR[,DIR...]] [--base-path DIR]
//       reads a standard JSON input on stdin and prints the output on stdout.
//       Sources given by "urls" (as crytic-compile does) and imports are read
//       from files under the working directory or an allowed path, nowhere else.
//
// Anything else exits 2. Compiler errors are part of the JSON output (exit 0),
// as with the native compiler.
"use strict";

const fs = require("fs");
const path = require("path");

function loadSolc() {
  try {
    return require("solc");
  } catch (err) {
    process.stderr.write(
      "error: the npm package solc is not installed (run `make setup`): " + err.message + "\n",
    );
    process.exit(3);
  }
}

function parseArgs(argv) {
  const options = { mode: null, allowed: [], basePath: null };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === "--version") {
      options.mode = "version";
    } else if (arg === "--standard-json") {
      options.mode = "standard-json";
    } else if (arg === "--allow-paths" && i + 1 < argv.length) {
      options.allowed.push(...argv[i + 1].split(",").filter((p) => p.length > 0));
      i += 1;
    } else if (arg === "--base-path" && i + 1 < argv.length) {
      options.basePath = argv[i + 1];
      i += 1;
    } else {
      process.stderr.write("error: unsupported argument " + JSON.stringify(arg) + "\n");
      process.exit(2);
    }
  }
  return options;
}

function makeReader(options) {
  const base = path.resolve(options.basePath || ".");
  const roots = [process.cwd(), base, ...options.allowed].map((p) => {
    try {
      return fs.realpathSync(path.resolve(p));
    } catch (err) {
      return path.resolve(p);
    }
  });
  const inside = (file) =>
    roots.some((root) => file === root || file.startsWith(root + path.sep));
  return function read(requested) {
    try {
      const file = fs.realpathSync(path.resolve(base, requested));
      if (!inside(file)) {
        return { error: "File outside of allowed directories: " + requested };
      }
      return { contents: fs.readFileSync(file, "utf8") };
    } catch (err) {
      return { error: "File not found: " + requested };
    }
  };
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.mode === "version") {
    const solc = loadSolc();
    process.stdout.write(
      "solc, the solidity compiler commandline interface\nVersion: " + solc.version() + "\n",
    );
    return;
  }
  if (options.mode !== "standard-json") {
    process.stderr.write("usage: solc --version | solc --standard-json < input.json\n");
    process.exit(2);
  }
  const input = fs.readFileSync(0, "utf8");
  const solc = loadSolc();
  const output = solc.compile(input, { import: makeReader(options) });
  process.stdout.write(output);
  process.stdout.write("\n");
}

main();
