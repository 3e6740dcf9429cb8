#!/usr/bin/env node
// A `solc` command line in front of npm `solc` 0.8.19 (the soljson WebAssembly compiler).
//
// It answers exactly the invocations snarkml's tools make, the way native solc does:
//
//   solc --version
//   solc [--base-path P] [--include-path P]... [--allow-paths P,..] --standard-json [file]
//       Standard JSON in (stdin or file), standard JSON out. Used by Forge and
//       foundry-compilers. Imports that are not in the input are read from disk: the source
//       unit name as an absolute path, then under the base path (the working directory when
//       none is given), then under each include path. --allow-paths is accepted and ignored.
//   solc [--optimize [--optimize-runs N]] [--via-ir] [--evm-version V] --bin (- | file.sol)...
//       Prints "\n======= <source>:<Name> =======\nBinary:\n<hex>\n" per contract, where
//       <source> is "<stdin>" for "-". Used by snark-verifier. The optimizer is off unless
//       --optimize is given: solcjs cannot optimize large generated verifiers.
//
// Compiler errors go to stderr with a non-zero exit status (except in --standard-json mode,
// where, as with native solc, they are part of the JSON output).
//
// Two Node traps are avoided on purpose: the process is never ended with process.exit() after
// writing (that truncates piped stdout at 64 KiB), and stdin is read in a loop that waits out
// EAGAIN on non-blocking pipes.
'use strict';

const fs = require('fs');
const path = require('path');

const USAGE = `usage:
  solc --version
  solc [--base-path P] [--include-path P]... [--allow-paths P] --standard-json [input.json]
  solc [--optimize [--optimize-runs N]] [--via-ir] [--evm-version V] --bin (- | file.sol)...`;

class UsageError extends Error {}

function loadCompiler() {
  // Installed layout: .toolchain/solc.js next to .toolchain/node_modules/solc. Running this
  // file from scripts/toolchain/ uses the installed package too.
  const candidates = [
    path.join(__dirname, 'node_modules', 'solc'),
    path.join(__dirname, '..', '..', '.toolchain', 'node_modules', 'solc'),
  ];
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, 'package.json'))) {
      return require(dir);
    }
  }
  throw new Error(`npm package 'solc' not found (looked in ${candidates.join(', ')}); run scripts/setup`);
}

function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// Reads all of stdin synchronously, tolerating non-blocking pipes.
function readStdin() {
  const chunks = [];
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    let n;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      if (err.code === 'EAGAIN') {
        sleepMs(5);
        continue;
      }
      if (err.code === 'EOF') break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseArgs(argv) {
  const opts = {
    mode: null,
    basePath: '',
    includePaths: [],
    inputs: [],
    optimize: false,
    optimizeRuns: 200,
    viaIR: false,
    evmVersion: null,
  };
  const valueOf = (i, name) => {
    if (i + 1 >= argv.length) throw new UsageError(`${name} needs a value`);
    return argv[i + 1];
  };
  const setMode = (mode) => {
    if (opts.mode && opts.mode !== mode) throw new UsageError(`--${opts.mode} and --${mode} cannot be combined`);
    opts.mode = mode;
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline = null;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const take = (name) => {
      if (inline !== null) return inline;
      const v = valueOf(i, name);
      i++;
      return v;
    };
    switch (arg) {
      case '--version':
      case '-v':
        setMode('version');
        break;
      case '--standard-json':
        setMode('standard-json');
        break;
      case '--bin':
        setMode('bin');
        break;
      case '--base-path':
        opts.basePath = take(arg);
        break;
      case '--include-path':
        opts.includePaths.push(take(arg));
        break;
      case '--allow-paths':
        take(arg);
        break;
      case '--optimize':
        opts.optimize = true;
        break;
      case '--optimize-runs':
        opts.optimizeRuns = Number.parseInt(take(arg), 10);
        if (!Number.isInteger(opts.optimizeRuns) || opts.optimizeRuns < 0) {
          throw new UsageError('--optimize-runs needs a non-negative integer');
        }
        break;
      case '--via-ir':
        opts.viaIR = true;
        break;
      case '--evm-version':
        opts.evmVersion = take(arg);
        break;
      case '--help':
      case '-h':
        setMode('help');
        break;
      default:
        if (arg === '-' || !arg.startsWith('-')) {
          opts.inputs.push(argv[i]);
        } else {
          throw new UsageError(`unsupported option '${argv[i]}'`);
        }
    }
  }
  if (!opts.mode) throw new UsageError('one of --version, --standard-json or --bin is required');
  if (opts.mode === 'bin' && opts.inputs.length === 0) throw new UsageError('--bin needs "-" or a file');
  if (opts.mode === 'standard-json' && opts.inputs.length > 1) {
    throw new UsageError('--standard-json takes at most one input file');
  }
  return opts;
}

// The import callback: resolves a source unit name to a file on disk.
function importResolver(opts) {
  const roots = [opts.basePath || process.cwd(), ...opts.includePaths];
  return (unitName) => {
    const tried = [];
    const candidates = [];
    if (path.isAbsolute(unitName)) candidates.push(unitName);
    for (const root of roots) candidates.push(path.resolve(root, unitName.replace(/^\/+/, '')));
    for (const file of candidates) {
      tried.push(file);
      try {
        if (fs.statSync(file).isFile()) return { contents: fs.readFileSync(file, 'utf8') };
      } catch (_) {
        // not there; try the next root
      }
    }
    return { error: `File not found. Searched: ${tried.join(', ')}` };
  };
}

// solcjs may print a line about SMT solvers ahead of its output; keep only the JSON.
function cleanOutput(text) {
  return text
    .split('\n')
    .filter((line) => !line.startsWith('>>> Cannot retry compilation with SMT'))
    .join('\n');
}

function compile(solc, input, opts) {
  return cleanOutput(solc.compile(input, { import: importResolver(opts) }));
}

function runStandardJson(solc, opts) {
  const input = opts.inputs.length === 1 ? fs.readFileSync(opts.inputs[0], 'utf8') : readStdin();
  process.stdout.write(compile(solc, input, opts));
  return 0;
}

function runBin(solc, opts) {
  const sources = {};
  for (const input of opts.inputs) {
    if (input === '-') {
      sources['<stdin>'] = { content: readStdin() };
    } else {
      sources[path.normalize(input)] = { content: fs.readFileSync(input, 'utf8') };
    }
  }
  const settings = {
    optimizer: { enabled: opts.optimize, runs: opts.optimizeRuns },
    outputSelection: { '*': { '*': ['evm.bytecode.object'] } },
  };
  if (opts.viaIR) settings.viaIR = true;
  if (opts.evmVersion) settings.evmVersion = opts.evmVersion;
  const output = JSON.parse(compile(solc, JSON.stringify({ language: 'Solidity', sources, settings }), opts));

  const diagnostics = output.errors || [];
  let failed = false;
  for (const d of diagnostics) {
    if (d.severity === 'error') failed = true;
    process.stderr.write(`${d.formattedMessage || d.message}\n`);
  }
  if (failed) return 1;

  let text = '';
  for (const unit of Object.keys(sources).sort()) {
    const contracts = (output.contracts || {})[unit] || {};
    for (const name of Object.keys(contracts).sort()) {
      text += `\n======= ${unit}:${name} =======\nBinary:\n${contracts[name].evm.bytecode.object}\n`;
    }
  }
  process.stdout.write(text);
  return 0;
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`solc: ${err.message}\n${USAGE}\n`);
    return 1;
  }
  if (opts.mode === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const solc = loadCompiler();
  switch (opts.mode) {
    case 'version':
      process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
      return 0;
    case 'standard-json':
      return runStandardJson(solc, opts);
    default:
      return runBin(solc, opts);
  }
}

try {
  process.exitCode = main();
} catch (err) {
  process.stderr.write(`solc: ${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 1;
}
