using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Kiosk.Vision.Evaluation;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Imaging;
using Kiosk.Vision.Matching;
using Spectre.Console;

namespace Kiosk.Host.Cli;

internal static class EvalCommand
{
    public static Command Create(KioskSettings settings)
    {
        var eval = new Command("eval", "Measure recognition accuracy on a labelled set");
        eval.Subcommands.Add(CreatePairs(settings));
        eval.Subcommands.Add(IdentifyEvaluation.Create(settings));
        eval.Subcommands.Add(CreateGroupPairs());
        return eval;
    }

    private static Command CreateGroupPairs()
    {
        var pairs = new Option<FileInfo[]>("--pairs") { Description = "Pairs CSV (repeatable)", Required = true, AllowMultipleArgumentsPerToken = true };
        var images = new Option<DirectoryInfo>("--images") { Description = "Folder holding the images", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder to write person-NN/ sub-folders of links into", Required = true };
        var min = new Option<int>("--min-images") { Description = "Leave out identities with fewer images", DefaultValueFactory = _ => 2 };
        var cmd = new Command("group-pairs", "Turn labelled pairs into a folder per identity (for eval identify)") { pairs, images, output, min };
        cmd.SetAction(r =>
        {
            var list = r.GetValue(pairs)!.SelectMany(f => PairListReader.Read(f.FullName)).ToList();
            var groups = IdentityGroups.FromPairs(list);
            int n = IdentityGroups.WriteFolders(groups, r.GetValue(images)!.FullName, r.GetValue(output)!.FullName, r.GetValue(min));
            Console.WriteLine($"{n} identities with at least {r.GetValue(min)} images written to {r.GetValue(output)!.FullName} " +
                              $"({groups.Count} identities in all, {groups.Sum(g => g.Count)} images)");
            return 0;
        });
        return cmd;
    }

    private static Command CreatePairs(KioskSettings settings)
    {
        var common = new CommonOptions(settings);
        var pairs = new Option<FileInfo>("--pairs") { Description = "CSV with file_x,file_y,Decision|decision", Required = true };
        var images = new Option<DirectoryInfo>("--images") { Description = "folder holding the images", Required = true };
        var errors = new Option<bool>("--list-errors") { Description = "List the pairs misclassified at the best threshold" };
        var cmd = new Command("pairs", "Verification accuracy over labelled same/different pairs") { pairs, images, errors };
        common.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var list = PairListReader.Read(r.GetValue(pairs)!.FullName);
            var dir = r.GetValue(images)!;
            if (!dir.Exists) throw new DirectoryNotFoundException($"image folder {dir.FullName} not found");
            using var pipeline = new FacePipeline(common.PipelineOptions(r));
            var result = Run(pipeline, list, dir.FullName, AnsiConsole.Console);
            if (r.GetValue(errors)) ListErrors(result, AnsiConsole.Console);
            Report(result, pipeline, AnsiConsole.Console);
            return 0;
        });
        return cmd;
    }

    internal sealed record Outcome(
        int Pairs, int Failed, FacePair[] ScoredPairs, IReadOnlyList<string> FailedImages, float[] Scores, bool[] Same,
        (float Threshold, double Accuracy) Best, (double Mean, double Std) CrossValidated, double Auc,
        (double Tar, float Threshold)? Tar1e2, (double Tar, float Threshold)? Tar1e3, StageTimes Times, int PaddedRetries);

    /// <summary>
    /// Embeds every face of every image once, scores each pair by its best-matching pair of faces, computes the
    /// metrics. An image that cannot be read or analysed fails its pairs; the run goes on.
    /// </summary>
    internal static Outcome Run(FacePipeline pipeline, IReadOnlyList<FacePair> list, string imageDir, IAnsiConsole? console)
    {
        var names = list.SelectMany(p => new[] { p.FileA, p.FileB }).Distinct(StringComparer.Ordinal).ToArray();
        // Every face of every image: a pair scores the best-matching pair of faces (a group photo matches a
        // portrait of anyone in it), as `compare` does.
        var embeddings = new Dictionary<string, float[][]?>(StringComparer.Ordinal);
        var failedImages = new List<string>();
        var times = new StageTimes();
        int padded = 0;

        void EmbedAll(Action? tick)
        {
            foreach (var name in names)
            {
                float[][]? e = null;
                try
                {
                    long t0 = Stopwatch.GetTimestamp();
                    var img = ImageDecoder.Decode(Path.Combine(imageDir, name));
                    times.Add(StageTimes.Decode, t0);
                    var faces = pipeline.Analyze(img, times);
                    if (faces.Count > 0) { e = faces.Select(f => f.Embedding).ToArray(); if (faces[0].FoundAfterPadding) padded++; }
                    else failedImages.Add($"{name}: no face found");
                }
                catch (ImageDecodeException ex)
                {
                    failedImages.Add($"{name}: {ex.Message}");
                }
                catch (ArgumentException ex)
                {
                    // Degenerate geometry from one image (e.g. all landmarks on one point) fails that image only.
                    failedImages.Add($"{name}: {ex.Message}");
                }
                embeddings[name] = e;
                tick?.Invoke();
            }
        }

        if (console is null) EmbedAll(null);
        else
        {
            console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask($"embedding {names.Length} images", maxValue: names.Length);
                    EmbedAll(() => task.Increment(1));
                });
        }

        var scores = new List<float>(list.Count);
        var same = new List<bool>(list.Count);
        var scored = new List<FacePair>(list.Count);
        int failed = 0;
        foreach (var p in list)
        {
            var a = embeddings[p.FileA];
            var b = embeddings[p.FileB];
            if (a is null || b is null) { failed++; continue; }
            scores.Add(VectorMath.BestPair(a, b).Similarity);
            same.Add(p.Same);
            scored.Add(p);
        }
        var s = scores.ToArray();
        var y = same.ToArray();
        bool bothClasses = y.Contains(true) && y.Contains(false);
        return new Outcome(list.Count, failed, scored.ToArray(), failedImages, s, y,
            bothClasses ? VerificationMetrics.BestThreshold(s, y) : (float.NaN, double.NaN),
            // 10 folds when there are enough pairs; fewer pairs, fewer folds (each fold needs a pair).
            bothClasses && s.Length >= 2 ? VerificationMetrics.CrossValidatedAccuracy(s, y, Math.Min(10, s.Length)) : (double.NaN, double.NaN),
            bothClasses ? VerificationMetrics.RocAuc(s, y) : double.NaN,
            bothClasses ? VerificationMetrics.TarAtFar(s, y, 1e-2) : null,
            bothClasses ? VerificationMetrics.TarAtFar(s, y, 1e-3) : null,
            times, padded);
    }

    internal static void Report(Outcome o, FacePipeline pipeline, IAnsiConsole console)
    {
        var spec = pipeline.Embedder.Spec;
        string F(double v, string fmt = "F4") => double.IsNaN(v) ? "na" : v.ToString(fmt, CultureInfo.InvariantCulture);
        var table = new Table().AddColumns("metric", "value");
        table.AddRow("model", $"{spec.Name} ({spec.OutputSize}-d, {pipeline.Embedder.Model.Backend})");
        table.AddRow("pairs scored / total", $"{o.Scores.Length} / {o.Pairs}");
        table.AddRow("accuracy at best threshold", $"{F(o.Best.Accuracy)} (threshold {F(o.Best.Threshold)} cosine similarity)");
        table.AddRow("10-fold cross-validated accuracy", $"{F(o.CrossValidated.Mean)} ± {F(o.CrossValidated.Std)}");
        table.AddRow("ROC AUC", F(o.Auc));
        table.AddRow("TAR @ FAR 1e-2", o.Tar1e2 is { } t2 ? $"{F(t2.Tar)} (threshold {F(t2.Threshold)})" : "n/a (too few different-person pairs)");
        table.AddRow("TAR @ FAR 1e-3", o.Tar1e3 is { } t3 ? $"{F(t3.Tar)} (threshold {F(t3.Threshold)})" : "n/a (too few different-person pairs)");
        table.AddRow("accuracy at the model's threshold", $"{F(AccuracyAt(o, spec.Threshold))} (threshold {spec.Threshold:F2})");
        table.AddRow("pairs failed (no face / unreadable)", $"{o.Failed}");
        table.AddRow("faces found only after padding", $"{o.PaddedRetries}");
        for (int st = 0; st < StageTimes.Names.Length; st++)
            table.AddRow($"mean {StageTimes.Names[st]} ms", $"{F(o.Times.MeanMs(st), "F2")} (n={o.Times.Count(st)})");
        console.Write(table);
        foreach (var f in o.FailedImages) console.MarkupLineInterpolated($"[yellow]failed:[/] {f}");

        var kv = new List<string>
        {
            $"model={spec.Name.Replace(' ', '_')}", $"accuracy={F(o.Best.Accuracy)}", $"cv_accuracy={F(o.CrossValidated.Mean)}", $"auc={F(o.Auc)}",
            $"threshold={F(o.Best.Threshold)}", $"pairs={o.Pairs}", $"failed={o.Failed}",
            $"tar_far1e-2={(o.Tar1e2 is { } a ? F(a.Tar) : "na")}", $"tar_far1e-3={(o.Tar1e3 is { } b ? F(b.Tar) : "na")}",
        };
        for (int st = 0; st < StageTimes.Names.Length; st++) kv.Add($"{StageTimes.Names[st]}_ms={F(o.Times.MeanMs(st), "F2")}");
        // Last line: machine-readable, plain stdout (no markup).
        Console.Out.Flush();
        Console.WriteLine(string.Join(' ', kv));
    }

    private static void ListErrors(Outcome o, IAnsiConsole console)
    {
        for (int i = 0; i < o.Scores.Length; i++)
        {
            bool predicted = o.Scores[i] >= o.Best.Threshold;
            if (predicted == o.Same[i]) continue;
            var p = o.ScoredPairs[i];
            console.MarkupLineInterpolated($"[yellow]misclassified:[/] {p.FileA} {p.FileB} labelled {(p.Same ? "same" : "different")}, similarity {o.Scores[i]:F4}");
        }
    }

    private static double AccuracyAt(Outcome o, float threshold)
    {
        if (o.Scores.Length == 0) return double.NaN;
        int ok = 0;
        for (int i = 0; i < o.Scores.Length; i++) if ((o.Scores[i] >= threshold) == o.Same[i]) ok++;
        return (double)ok / o.Scores.Length;
    }
}
