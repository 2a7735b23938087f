#!/usr/bin/env node
// Node.js reference benchmark for the kiosk's face-recognition models.
//
// Runs each model through onnxruntime-node (the ONNX Runtime build the C# project binds) with
// intraOpNumThreads 1 and 2, and prints median / mean / p90 latency of `await session.run(feeds)`.
// Normally started by run.sh, which prepares the packages and passes --ort-dir and the checks.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');

const MODELS = [
  // name, expected input shape (NCHW); the shape the model itself declares must agree.
  { name: 'fr_detect', shape: [1, 3, 240, 320] },
  { name: 'fr_landmark', shape: [1, 1, 64, 64] },
  { name: 'fr_feature', shape: [1, 3, 112, 112] },
  { name: 'fr_liveness', shape: [1, 3, 128, 128] },
];

const USAGE = `usage: node bench.js --ort-dir DIR --models DIR [options]
  --ort-dir DIR            the onnxruntime-node package directory (run.sh passes it)
  --models DIR             directory holding fr_detect.onnx etc. (run.sh passes $cache/models/default)
  --runs N                 timed runs per measurement (default 200)
  --warmup N               untimed runs before timing (default 10)
  --rounds R               measure every (model, threads) R times, round-robin, each time in a new session,
                           and report the round with the lowest median (default 1: a single round)
  --threads LIST           intraOpNumThreads values, comma-separated (default 1,2)
  --model NAME             only this model (repeatable), e.g. --model fr_detect
  --seed N                 PRNG seed for the random inputs (default 42)
  --json FILE              also write [{model, threads, median_ms, mean_ms, p90_ms, runs, others_cpu}] to FILE
  --expect-version V       refuse to run unless onnxruntime-node reports version V
  --expect-lib-sha256 HEX  refuse to run unless the libonnxruntime mapped into this process has this SHA-256`;

function die(msg) {
  process.stderr.write(`bench.js: error: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const o = { runs: 200, warmup: 10, rounds: 1, threads: [1, 2], models: null, only: [], seed: 42, json: null,
    ortDir: null, expectVersion: null, expectLibSha: null };
  const int = (v, name, min) => {
    if (!/^\d+$/.test(v || '') || Number(v) < min) die(`${name} needs an integer >= ${min}, got '${v}'`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--runs': o.runs = int(next(), a, 1); break;
      case '--warmup': o.warmup = int(next(), a, 0); break;
      case '--rounds': o.rounds = int(next(), a, 1); break;
      case '--threads': o.threads = next().split(',').map((t) => int(t, a, 1)); break;
      case '--model': o.only.push(next()); break;
      case '--models': o.models = next(); break;
      case '--seed': o.seed = int(next(), a, 0); break;
      case '--json': o.json = next(); break;
      case '--ort-dir': o.ortDir = next(); break;
      case '--expect-version': o.expectVersion = next(); break;
      case '--expect-lib-sha256': o.expectLibSha = next().toLowerCase(); break;
      case '-h': case '--help': process.stdout.write(USAGE + '\n'); process.exit(0); break;
      default: die(`unknown argument '${a}'\n${USAGE}`);
    }
  }
  if (!o.ortDir) die(`--ort-dir is required (use run.sh)\n${USAGE}`);
  if (!o.models) die(`--models is required (use run.sh)\n${USAGE}`);
  for (const m of o.only) {
    if (!MODELS.some((x) => x.name === m)) die(`unknown model '${m}' (one of ${MODELS.map((x) => x.name).join(', ')})`);
  }
  return o;
}

// mulberry32: small, fast, deterministic 32-bit PRNG.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomInput(shape, seed) {
  const n = shape.reduce((a, b) => a * b, 1);
  const rnd = mulberry32(seed);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rnd() * 2 - 1; // uniform in [-1, 1)
  return data;
}

function stats(samplesMs) {
  const s = Float64Array.from(samplesMs).sort();
  const n = s.length;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  const mean = s.reduce((a, b) => a + b, 0) / n;
  const p90 = s[Math.max(0, Math.ceil(0.9 * n) - 1)]; // nearest-rank
  return { median, mean, p90, min: s[0], max: s[n - 1] };
}

// Which libonnxruntime this process actually mapped (Linux), so the figures are known to come from
// the pinned build and not from some other copy found through the loader's search path.
function mappedOrtLibrary() {
  let maps;
  try {
    maps = fs.readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return null;
  }
  for (const line of maps.split('\n')) {
    const m = line.match(/\s(\/\S*libonnxruntime\.so[^\s]*)$/);
    if (m) return m[1];
  }
  return null;
}

// CPU time used by the whole machine (from /proc/stat, USER_HZ = 100 on Linux) and by this process, so
// that time other processes took during a measurement can be shown: on a 2-core machine it skews the
// figures, the threads=2 ones most.
function cpuSnapshot() {
  let busy = null;
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    busy = (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] || 0)) / 100;
  } catch {
    // not Linux: no figure
  }
  const u = process.cpuUsage();
  return { busy, own: (u.user + u.system) / 1e6, wall: Number(process.hrtime.bigint()) / 1e9 };
}
// Average number of CPUs that other processes kept busy between two snapshots (null if unknown).
function othersCpu(a, b) {
  if (a.busy === null || b.busy === null || b.wall - a.wall <= 0) return null;
  return Math.max(0, (b.busy - a.busy) - (b.own - a.own)) / (b.wall - a.wall);
}

const sha256File = (p) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
const fmt = (x) => x.toFixed(3);

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const ort = require(path.resolve(opt.ortDir));

  const versions = ort.env.versions || {};
  const pkgVersion = JSON.parse(fs.readFileSync(path.join(opt.ortDir, 'package.json'), 'utf8')).version;
  const ortVersion = versions.node || pkgVersion;
  console.log(`onnxruntime-node ${ortVersion} (package.json ${pkgVersion}), onnxruntime-common ${versions.common}`);
  if (opt.expectVersion && (ortVersion !== opt.expectVersion || pkgVersion !== opt.expectVersion
      || versions.common !== opt.expectVersion)) {
    die(`expected ONNX Runtime ${opt.expectVersion}, found node=${ortVersion} package=${pkgVersion} common=${versions.common}`);
  }
  console.log(`node ${process.version} ${process.platform}-${process.arch}, ${os.cpus().length} CPUs (${(os.cpus()[0] || {}).model || '?'})`);
  console.log(`runs ${opt.runs}, warm-up ${opt.warmup}, rounds ${opt.rounds}, seed ${opt.seed}; options: intraOpNumThreads ${opt.threads.join('/')}, ` +
    `interOpNumThreads 1, executionMode sequential, graphOptimizationLevel all, executionProviders cpu`);

  const models = MODELS.filter((m) => opt.only.length === 0 || opt.only.includes(m.name));
  for (const model of models) {
    model.file = path.join(opt.models, `${model.name}.onnx`);
    if (!fs.existsSync(model.file)) die(`${model.file} not found (run scripts/setup.sh)`);
    model.data = randomInput(model.shape, opt.seed);
  }
  let libChecked = false;

  // One round: create the session, warm up, time opt.runs runs, release it.
  async function measure(model, threads) {
    const session = await ort.InferenceSession.create(model.file, {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });

    if (!libChecked) {
      libChecked = true;
      const lib = mappedOrtLibrary();
      if (lib) {
        const sha = sha256File(lib);
        console.log(`libonnxruntime: ${lib}\n  sha256 ${sha}`);
        if (opt.expectLibSha && sha !== opt.expectLibSha) {
          die(`the mapped libonnxruntime is not the pinned build (expected sha256 ${opt.expectLibSha})`);
        }
      } else if (opt.expectLibSha) {
        die('cannot tell which libonnxruntime was loaded (/proc/self/maps unreadable)');
      }
      console.log('');
    }

    if (session.inputNames.length !== 1) {
      die(`${model.name}: expected one input, the model has ${session.inputNames.length}: ${session.inputNames.join(', ')}`);
    }
    const inputName = session.inputNames[0];
    const meta = (session.inputMetadata || [])[0];
    if (meta && meta.isTensor) {
      if (meta.type !== 'float32') die(`${model.name}: input '${inputName}' is ${meta.type}, expected float32`);
      const agrees = meta.shape.length === model.shape.length
        && meta.shape.every((d, i) => typeof d !== 'number' || d === model.shape[i]);
      if (!agrees) die(`${model.name}: input '${inputName}' has shape [${meta.shape}], expected [${model.shape}]`);
    }

    const feeds = { [inputName]: new ort.Tensor('float32', model.data, model.shape) };
    for (let i = 0; i < opt.warmup; i++) await session.run(feeds);

    const samples = new Array(opt.runs);
    const before = cpuSnapshot();
    for (let i = 0; i < opt.runs; i++) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      samples[i] = Number(process.hrtime.bigint() - t0) / 1e6;
    }
    const after = cpuSnapshot();
    await session.release();
    return { ...stats(samples), others: othersCpu(before, after), seconds: after.wall - before.wall };
  }

  const configs = [];
  for (const model of models) for (const threads of opt.threads) configs.push({ model, threads, rounds: [] });
  for (let r = 0; r < opt.rounds; r++) {
    for (const c of configs) {
      const s = await measure(c.model, c.threads);
      c.rounds.push(s);
      process.stderr.write(`  ${c.model.name} threads=${c.threads}` +
        `${opt.rounds > 1 ? ` round ${r + 1}/${opt.rounds}` : ''}: median ${fmt(s.median)} ms` +
        `${s.others === null ? '' : `, other processes ${s.others.toFixed(2)} CPU`}\n`);
    }
  }
  const results = configs.map((c) => {
    const best = c.rounds.reduce((a, b) => (b.median < a.median ? b : a));
    return { model: c.model.name, threads: c.threads, ...best, runs: opt.runs, roundMedians: c.rounds.map((x) => x.median) };
  });

  // Human table.
  // 'others CPU': CPUs that other processes kept busy on average while this measurement ran. /proc/stat
  // counts in 10 ms ticks, so it is shown only for measurements that took 0.25 s or more.
  const othersCell = (r) => (r.others === null || r.seconds < 0.25 ? '-' : r.others.toFixed(2));
  const header = ['model', 'threads', 'median ms', 'mean ms', 'p90 ms', 'min ms', 'max ms', 'runs', 'others CPU'];
  const rows = results.map((r) => [r.model, String(r.threads), fmt(r.median), fmt(r.mean), fmt(r.p90),
    fmt(r.min), fmt(r.max), String(r.runs), othersCell(r)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
  const all = configs.flatMap((c) => c.rounds).filter((x) => x.others !== null);
  if (all.length) {
    const secs = all.reduce((a, x) => a + x.seconds, 0);
    const others = all.reduce((a, x) => a + x.others * x.seconds, 0) / secs;
    if (others > 0.1) {
      const msg = `warning: other processes kept ${others.toFixed(2)} CPU busy on average while timing ` +
        `(of ${os.cpus().length}); these figures are skewed, the threads=2 ones most. Measure on an idle machine.`;
      console.log(`\n${msg}`);
      process.stderr.write(`bench.js: ${msg}\n`);
    }
  }
  if (opt.rounds > 1) {
    console.log('\nmedian of each round (the table shows the round with the lowest median):');
    for (const r of results) console.log(`  ${r.model.padEnd(widths[0])} threads=${r.threads}: ${r.roundMedians.map(fmt).join(' ')}`);
  }
  console.log('');

  const out = results.map((r) => ({
    model: r.model, threads: r.threads, median_ms: +fmt(r.median), mean_ms: +fmt(r.mean), p90_ms: +fmt(r.p90), runs: r.runs,
    ...(opt.rounds > 1 ? { rounds: opt.rounds } : {}),
    others_cpu: r.others === null || r.seconds < 0.25 ? null : +r.others.toFixed(2),
  }));
  if (opt.json) {
    fs.mkdirSync(path.dirname(path.resolve(opt.json)), { recursive: true });
    fs.writeFileSync(opt.json, JSON.stringify(out, null, 2) + '\n');
    console.log(`wrote ${opt.json}`);
  }
  // Machine-readable lines, last.
  for (const r of out) {
    console.log(`node_ref model=${r.model} threads=${r.threads} median_ms=${fmt(r.median_ms)} mean_ms=${fmt(r.mean_ms)} ` +
      `p90_ms=${fmt(r.p90_ms)} runs=${r.runs}${r.rounds ? ` rounds=${r.rounds}` : ''}`);
  }
}

main().catch((e) => die(e && e.stack ? e.stack : String(e)));
