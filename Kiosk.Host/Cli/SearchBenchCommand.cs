using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Kiosk.Vision.Matching;
using Spectre.Console;

namespace Kiosk.Host.Cli;

/// <summary>
/// <c>bench search</c>: the 1:N <see cref="FaceIndex"/> on synthetic galleries. For each size and precision: Add
/// throughput, index memory and the process's RSS growth, top-5 search latency, and the memory-bandwidth bound, a
/// plain SIMD sum over the very bytes a search reads, timed alternately with the searches so that both see the
/// same machine. The last line is key=value.
/// </summary>
internal static class SearchBenchCommand
{
    private const int TopK = 5;

    /// <summary>Each (size, precision) stops timing after this long, with at least <see cref="MinQueries"/> queries.</summary>
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(15);
    private const int MinQueries = 10;
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(0.5);

    private static readonly (string Name, VectorPrecision Precision)[] Precisions =
        [("f32", VectorPrecision.Float32), ("f16", VectorPrecision.Float16), ("i8", VectorPrecision.Int8)];

    public static Command Create()
    {
        var sizes = new Option<int[]>("--sizes")
        {
            Description = "Gallery sizes in templates, comma-separated",
            DefaultValueFactory = _ => [1_000, 10_000, 100_000, 1_000_000],
            CustomParser = ParseSizes,
        };
        var dim = new Option<int>("--dim") { Description = "Embedding dimension", DefaultValueFactory = _ => 512 };
        var precision = new Option<string>("--precision") { Description = "Storage precision", DefaultValueFactory = _ => "all" };
        precision.AcceptOnlyFromAmong("all", "f32", "f16", "i8");
        var queries = new Option<int>("--queries") { Description = $"Timed searches per size and precision (fewer when {Budget.TotalSeconds:F0} s run out)", DefaultValueFactory = _ => 200 };
        var perPerson = new Option<int>("--templates-per-person") { Description = "Templates per person", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { Description = "Random seed of the synthetic gallery", DefaultValueFactory = _ => 1 };
        var cmd = new Command("search", "Benchmark the 1:N gallery search against a plain read of the same memory") { sizes, dim, precision, queries, perPerson, seed };
        cmd.SetAction(r =>
        {
            var o = new Options(r.GetValue(sizes)!, r.GetValue(dim), r.GetValue(queries), r.GetValue(perPerson), r.GetValue(seed));
            if (o.Dimension < 1 || o.Queries < 1 || o.TemplatesPerPerson < 1)
                throw new UsageException("--dim, --queries and --templates-per-person must be at least 1");
            string which = r.GetValue(precision)!;
            var selected = Precisions.Where(p => which == "all" || p.Name == which).ToArray();
            AnsiConsole.MarkupLineInterpolated(
                $"{o.Dimension}-d unit vectors, {o.TemplatesPerPerson} template(s) per person, top-{TopK}, queries near stored templates (cosine ~0.75); {Environment.ProcessorCount} cores, {RuntimeInformation.ProcessArchitecture}, kernels: {KernelName()}");
            var kv = new List<string>();
            foreach (int size in o.Sizes) Run(o, size, selected, kv);
            Console.WriteLine(string.Join(' ', kv));
            return 0;
        });
        return cmd;
    }

    private sealed record Options(int[] Sizes, int Dimension, int Queries, int TemplatesPerPerson, int Seed);

    private sealed record Result(string Name, long MemoryBytes, long RssDelta, double AddsPerSecond, double MedianMs, double P90Ms,
        double ReadMs, long ReadBytes, int Queries, double? Top1Agreement = null, double? MaxScoreError = null);

    private static int[] ParseSizes(ArgumentResult result)
    {
        var sizes = new List<int>();
        foreach (var token in result.Tokens)
            foreach (var part in token.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0) sizes.Add(n);
                else result.AddError($"--sizes: '{part}' is not a positive whole number");
            }
        return [.. sizes];
    }

    private static string KernelName() => ScoreKernels.Best switch
    {
        ScoreKernels.Isa.AvxVnni => "AVX2 + FMA (256-bit), int8 with AVX-VNNI",
        ScoreKernels.Isa.Avx2 => "AVX2 + FMA (256-bit)",
        ScoreKernels.Isa.Vector128 => "Vector128 (NEON / SSE)",
        _ => "scalar",
    };

    private static void Run(Options o, int size, (string Name, VectorPrecision Precision)[] precisions, List<string> kv)
    {
        var results = new List<Result>();
        Match[]? reference = null; // float32's best match per query
        foreach (var (name, precision) in precisions)
        {
            var (result, top1) = RunOne(o, size, name, precision);
            if (precision == VectorPrecision.Float32) reference = top1;
            else if (reference is not null) result = Compare(result, top1, reference);
            results.Add(result);
        }
        Print(size, results, kv);
    }

    /// <summary>Share of queries with float32's best person, and the largest score difference where it is.</summary>
    private static Result Compare(Result result, Match[] top1, Match[] reference)
    {
        int n = Math.Min(top1.Length, reference.Length), same = 0;
        double worst = 0;
        for (int i = 0; i < n; i++)
        {
            if (top1[i].PersonId != reference[i].PersonId) continue;
            same++;
            worst = Math.Max(worst, Math.Abs(top1[i].Score - reference[i].Score));
        }
        return result with { Top1Agreement = same / (double)n, MaxScoreError = worst };
    }

    /// <summary>One gallery: built, measured and dropped (not inlined, so that no caller's frame keeps it alive).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Result Result, Match[] Top1) RunOne(Options o, int size, string name, VectorPrecision precision)
    {
        Collect();
        long rss0 = Environment.WorkingSet;
        var (index, queries, addSeconds) = Build(o, size, precision);
        long rss = Environment.WorkingSet - rss0;
        var (search, read, top1) = Measure(index, queries);
        var result = new Result(name, index.MemoryBytes, rss, size / addSeconds, Percentile(search, 0.5), Percentile(search, 0.9),
            Percentile(read, 0.5), index.StoredBytes.Length, search.Length);
        return (result, top1);
    }

    /// <summary>
    /// A gallery of <paramref name="size"/> synthetic templates and queries near some of them; the vectors depend only
    /// on the seed, size and dimension, so every precision gets the same ones. Returns the seconds spent in Add.
    /// </summary>
    private static (FaceIndex Index, float[][] Queries, double AddSeconds) Build(Options o, int size, VectorPrecision precision)
    {
        var rng = new Random(unchecked(o.Seed * 1_000_003 + size * 31 + o.Dimension)); // HashCode.Combine differs per process
        var index = new FaceIndex(o.Dimension, precision, initialCapacity: size);
        int queryCount = Math.Min(o.Queries, size);
        var queries = new float[queryCount][];
        var center = new float[o.Dimension];
        var v = new float[o.Dimension];
        var bytes = new byte[o.Dimension];
        long addTicks = 0;
        for (int row = 0, next = 0; row < size; row++)
        {
            // Random bytes as centred components: cheap enough for a billion of them, and as good as Gaussians here.
            int t = row % o.TemplatesPerPerson;
            if (t == 0) RandomUnit(rng, bytes, center);
            if (o.TemplatesPerPerson == 1) center.CopyTo(v);
            else Near(rng, bytes, center, v, 0.5f); // templates of one person at cosine ~0.9
            long t0 = Stopwatch.GetTimestamp();
            index.Add(row / o.TemplatesPerPerson, row, v);
            addTicks += Stopwatch.GetTimestamp() - t0;
            // Queries spread evenly over the gallery, each near its template (cosine ~0.75: another photo).
            if (next < queryCount && row == (int)((long)next * size / queryCount))
            {
                queries[next] = new float[o.Dimension];
                Near(rng, bytes, v, queries[next++], 0.9f);
            }
        }
        return (index, queries, (double)addTicks / Stopwatch.Frequency);
    }

    private static void RandomUnit(Random rng, byte[] bytes, Span<float> v)
    {
        rng.NextBytes(bytes);
        for (int i = 0; i < v.Length; i++) v[i] = bytes[i] - 127.5f;
        VectorMath.L2Normalize(v);
    }

    /// <summary>normalize(center + weight * random unit vector).</summary>
    private static void Near(Random rng, byte[] bytes, ReadOnlySpan<float> center, Span<float> v, float weight)
    {
        RandomUnit(rng, bytes, v);
        TensorPrimitives.MultiplyAdd(v, weight, center, v);
        VectorMath.L2Normalize(v);
    }

    /// <summary>Search latencies and plain-read times (ms), alternating, and each query's best match.</summary>
    private static (double[] Search, double[] Read, Match[] Top1) Measure(FaceIndex index, float[][] queries)
    {
        var results = new Match[TopK];
        var top1 = new Match[queries.Length];
        // Warm-up by time as well as count: the surrounding code reaches its final tier only after some 100 ms.
        long warm = Stopwatch.GetTimestamp();
        for (int i = 0; i < 3 || (Stopwatch.GetElapsedTime(warm) < WarmUp && i < 10_000); i++)
        {
            index.Search(queries[i % queries.Length], results);
            PlainRead(index.StoredBytes);
        }
        var search = new List<double>(queries.Length);
        var read = new List<double>(queries.Length);
        uint sink = 0;
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < queries.Length && (i < MinQueries || Stopwatch.GetElapsedTime(start) < Budget); i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            index.Search(queries[i], results);
            long t1 = Stopwatch.GetTimestamp();
            sink += PlainRead(index.StoredBytes);
            long t2 = Stopwatch.GetTimestamp();
            search.Add((t1 - t0) * 1000.0 / Stopwatch.Frequency);
            read.Add((t2 - t1) * 1000.0 / Stopwatch.Frequency);
            top1[i] = results[0];
        }
        GC.KeepAlive(sink);
        return ([.. search], [.. read], top1[..search.Count]);
    }

    /// <summary>
    /// The memory-bandwidth bound: a sum of every 32-bit word of <paramref name="bytes"/>, four independent vector
    /// accumulators, nothing else. Integer adds, so that no bit pattern is a slow float. Fully optimized from the
    /// first call, like the search kernels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static uint PlainRead(ReadOnlySpan<byte> bytes)
    {
        var words = MemoryMarshal.Cast<byte, uint>(bytes);
        ref uint w = ref MemoryMarshal.GetReference(words);
        nuint n = (nuint)words.Length, i = 0;
        uint sum = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<uint> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + 32 <= n; i += 32)
            {
                a0 += Vector256.LoadUnsafe(ref w, i);
                a1 += Vector256.LoadUnsafe(ref w, i + 8);
                a2 += Vector256.LoadUnsafe(ref w, i + 16);
                a3 += Vector256.LoadUnsafe(ref w, i + 24);
            }
            sum = Vector256.Sum(a0 + a1 + a2 + a3);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Vector128<uint> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + 16 <= n; i += 16)
            {
                a0 += Vector128.LoadUnsafe(ref w, i);
                a1 += Vector128.LoadUnsafe(ref w, i + 4);
                a2 += Vector128.LoadUnsafe(ref w, i + 8);
                a3 += Vector128.LoadUnsafe(ref w, i + 12);
            }
            sum = Vector128.Sum(a0 + a1 + a2 + a3);
        }
        for (; i < n; i++) sum += words[(int)i];
        return sum;
    }

    private static void Print(int size, List<Result> results, List<string> kv)
    {
        var table = new Table().Title($"{size:N0} templates: search = top-{TopK} median (p90), read = plain read of the same bytes")
            .AddColumns("", "index MB", "RSS +MB", "Add/s", "search ms", "read ms", "GB/s", "search/read", "top-1 = f32", "max Δ", "n");
        foreach (var r in results)
        {
            double ratio = r.MedianMs / r.ReadMs;
            table.AddRow(r.Name, F(r.MemoryBytes / 1e6, "F1"), F(r.RssDelta / 1e6, "F1"), F(r.AddsPerSecond / 1e3, "F0") + "k",
                $"{F(r.MedianMs, "F3")} ({F(r.P90Ms, "F3")})", F(r.ReadMs, "F3"), F(r.ReadBytes / r.ReadMs / 1e6, "F1"), F(ratio),
                r.Top1Agreement is { } a ? F(a * 100, "F1") + "%" : "", r.MaxScoreError is { } e ? F(e, "F4") : "",
                r.Queries.ToString(CultureInfo.InvariantCulture));
            string key = $"n{size}_{r.Name}";
            kv.Add($"{key}_ms={F(r.MedianMs, "F3")}");
            kv.Add($"{key}_p90_ms={F(r.P90Ms, "F3")}");
            kv.Add($"{key}_read_ms={F(r.ReadMs, "F3")}");
            kv.Add($"{key}_vs_read={F(ratio, "F3")}");
            kv.Add($"{key}_mb={F(r.MemoryBytes / 1e6, "F1")}");
            kv.Add($"{key}_rss_mb={F(r.RssDelta / 1e6, "F1")}");
            kv.Add($"{key}_adds_per_s={F(r.AddsPerSecond, "F0")}");
            if (r.Top1Agreement is { } agree) kv.Add($"{key}_top1_agree={F(agree, "F4")}");
            if (r.MaxScoreError is { } error) kv.Add($"{key}_max_score_diff={F(error, "F5")}");
        }
        AnsiConsole.Write(table);
    }

    private static double Percentile(double[] values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * p))];
    }

    /// <summary>A full, compacting collection that also returns freed memory, so that RSS deltas start from a floor.</summary>
    private static void Collect() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);

    private static string F(double v, string fmt = "F2") => v.ToString(fmt, CultureInfo.InvariantCulture);
}
