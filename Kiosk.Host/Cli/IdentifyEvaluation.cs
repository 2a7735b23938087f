using System.CommandLine;
using System.Globalization;
using Kiosk.Host.Gallery;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Imaging;
using Kiosk.Vision.Matching;
using Spectre.Console;

namespace Kiosk.Host.Cli;

/// <summary>
/// eval identify: on a folder-per-person set, enroll part of the people into a throw-away gallery (the real store,
/// quality gate and two-tier identification), probe with everything else, and measure rank-1 accuracy, false
/// non-matches of enrolled people and false matches of people never enrolled.
/// </summary>
internal static class IdentifyEvaluation
{
    public static Command Create(KioskSettings settings)
    {
        var common = new CommonOptions(settings);
        var root = new Option<DirectoryInfo>("--root") { Description = "One sub-folder of photos per person", Required = true };
        var enroll = new Option<int>("--enroll") { Description = "Photos enrolled per known person (the first ones, by name, that pass the quality gate)", DefaultValueFactory = _ => 1 };
        var unknown = new Option<double>("--unknown-fraction") { Description = "Share of the people never enrolled (their photos probe for false matches)", DefaultValueFactory = _ => 0.25 };
        var seed = new Option<int>("--seed") { Description = "Which people are left out (seeded shuffle)", DefaultValueFactory = _ => 7 };
        var cmd = new Command("identify", "1:N accuracy: rank-1, false match rate on people never enrolled, false non-match rate") { root, enroll, unknown, seed };
        common.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var dir = r.GetValue(root)!;
            if (!dir.Exists) throw new DirectoryNotFoundException($"folder {dir.FullName} not found");
            if (r.GetValue(enroll) < 1) throw new UsageException("--enroll must be at least 1");
            if (r.GetValue(unknown) is < 0 or >= 1) throw new UsageException("--unknown-fraction must be in [0, 1)");
            var outcome = Run(settings, common.PipelineOptions(r), dir.FullName, r.GetValue(enroll), r.GetValue(unknown), r.GetValue(seed), AnsiConsole.Console);
            outcome.Print(AnsiConsole.Console);
            return 0;
        });
        return cmd;
    }

    internal sealed record Outcome(
        int People, int Known, int Unknown, int Templates, IReadOnlyList<string> EnrollRejections,
        int KnownProbes, int Rank1Correct, int KnownAccepted, int WrongAccepts, int KnownFailed, int UnknownProbes, int FalseMatches, int Failed,
        float Threshold, int FastDecisions, int AccurateDecisions, double ImpostorMean, double ImpostorStd, int ImpostorScores,
        IReadOnlyList<string> Errors)
    {
        public double Rank1 => KnownProbes == 0 ? double.NaN : (double)Rank1Correct / KnownProbes;
        public double Fnmr => KnownProbes == 0 ? double.NaN : 1 - (double)KnownAccepted / KnownProbes;
        /// <summary>False non-matches counting known probes with no usable face too (failure to acquire).</summary>
        public double FnmrWithFailures => KnownProbes + KnownFailed == 0 ? double.NaN : 1 - (double)KnownAccepted / (KnownProbes + KnownFailed);
        public double Fmr => UnknownProbes == 0 ? double.NaN : (double)FalseMatches / UnknownProbes;
        /// <summary>
        /// 95% upper confidence bound of the false match rate (exact binomial; 3/n by the rule of three when none were
        /// seen): with a few dozen strangers, "no false match" says the rate is below this, not that it is zero.
        /// </summary>
        public double FmrUpper95 => UnknownProbes == 0 ? double.NaN : UpperBound(FalseMatches, UnknownProbes);

        private static double UpperBound(int k, int n)
        {
            if (k >= n) return 1;
            // Clopper-Pearson upper limit by bisection on the binomial tail P(X <= k; p) = 0.05.
            double lo = (double)k / n, hi = 1;
            for (int i = 0; i < 60; i++)
            {
                double p = (lo + hi) / 2, tail = 0, term = Math.Pow(1 - p, n);
                for (int x = 0; x <= k; x++)
                {
                    tail += term;
                    term *= (double)(n - x) / (x + 1) * p / (1 - p);
                }
                if (tail > 0.05) lo = p; else hi = p;
            }
            return hi;
        }

        public void Print(IAnsiConsole console)
        {
            string F(double v) => double.IsNaN(v) ? "na" : v.ToString("F4", CultureInfo.InvariantCulture);
            var t = new Table().AddColumns("", "value");
            t.AddRow("people (known / never enrolled)", $"{People} ({Known} / {Unknown})");
            t.AddRow("templates enrolled", $"{Templates}");
            t.AddRow("probes of known people", $"{KnownProbes}");
            t.AddRow("rank-1 accuracy", F(Rank1));
            t.AddRow("false non-match rate (with no-face probes)", $"{F(Fnmr)} ({F(FnmrWithFailures)})");
            t.AddRow("known people accepted as someone else", $"{WrongAccepts}");
            t.AddRow("probes of people never enrolled", $"{UnknownProbes}");
            t.AddRow("false match rate (95% upper bound)", $"{F(Fmr)} ({FalseMatches}; below {F(FmrUpper95)})");
            t.AddRow("threshold (cosine similarity)", F(Threshold));
            t.AddRow("decided by fast / accurate tier", $"{FastDecisions} / {AccurateDecisions}");
            t.AddRow("probes with no usable face", $"{Failed}");
            t.AddRow("impostor scores: mean, std (n)", $"{F(ImpostorMean)}, {F(ImpostorStd)} ({ImpostorScores})");
            console.Write(t);
            foreach (var e in EnrollRejections) console.MarkupLineInterpolated($"[yellow]enrollment rejected:[/] {e}");
            foreach (var e in Errors) console.MarkupLineInterpolated($"[yellow]probe failed:[/] {e}");
            Console.Out.Flush();
            Console.WriteLine(FormattableString.Invariant(
                $"rank1={F(Rank1)} fmr={F(Fmr)} fnmr={F(Fnmr)} probes={KnownProbes + UnknownProbes + Failed} threshold={F(Threshold)} failed={Failed} fmr_upper95={F(FmrUpper95)} fnmr_with_failures={F(FnmrWithFailures)} wrong_accepts={WrongAccepts} known_probes={KnownProbes} unknown_probes={UnknownProbes} templates={Templates} fast={FastDecisions} accurate={AccurateDecisions}"));
        }
    }

    internal static Outcome Run(KioskSettings settings, FacePipelineOptions pipeline, string root, int enrollPerPerson,
        double unknownFraction, int seed, IAnsiConsole? console)
    {
        var people = Directory.GetDirectories(root).OrderBy(d => d, StringComparer.Ordinal).ToArray();
        if (people.Length < 2) throw new UsageException($"{root} needs at least two person folders");
        var order = people.ToArray();
        new Random(seed).Shuffle(order);
        int unknownCount = unknownFraction <= 0 ? 0 : Math.Clamp((int)Math.Round(unknownFraction * people.Length), 1, people.Length - 1);
        var unknownSet = order.Take(unknownCount).ToHashSet();

        string temp = Directory.CreateTempSubdirectory("kiosk-eval-").FullName;
        try
        {
            var options = new GalleryOptions
            {
                DatabasePath = Path.Combine(temp, "gallery.db"),
                KeyPath = Path.Combine(temp, "gallery.key"),
                KeepCrops = false,
                MaxTemplatesPerPerson = Math.Max(5, enrollPerPerson),
            };
            using var service = GalleryCommands.OpenService(settings, pipeline, options, console);
            var rejections = new List<string>();
            var probes = new List<(string File, long? Person)>();
            var idOf = new Dictionary<string, long>();
            foreach (var dir in people)
            {
                var files = Directory.GetFiles(dir).Where(f => !Path.GetFileName(f).StartsWith('.')).OrderBy(f => f, StringComparer.Ordinal).ToList();
                if (unknownSet.Contains(dir)) { probes.AddRange(files.Select(f => (f, (long?)null))); continue; }
                int used = 0;
                long? personId = null;
                var mine = new List<string>();
                foreach (var file in files)
                {
                    if (used == enrollPerPerson) { mine.Add(file); continue; }
                    var photo = LoadPhoto(file);
                    var result = service.Enroll(new PersonDraft(Path.GetFileName(dir)), [photo], personId);
                    if (result.Person is { } p) { personId = p.Id; used++; continue; }
                    rejections.Add($"{Path.GetFileName(dir)}/{Path.GetFileName(file)}: {result.Rejected[0].Reason}");
                    mine.Add(file); // not in the gallery: it probes like any other photo of them
                }
                // A known person none of whose photos could be enrolled still probes as known (id -1 matches no
                // one): the kiosk would not let them in, a false non-match.
                probes.AddRange(mine.Select(f => (f, (long?)(personId ?? -1))));
            }

            var policy = service.Policy();
            int knownProbes = 0, rank1 = 0, knownAccepted = 0, wrongAccepts = 0, knownFailed = 0, unknownProbes = 0, falseMatches = 0, failed = 0, fast = 0, accurate = 0;
            double impSum = 0, impSq = 0;
            int impN = 0;
            var errors = new List<string>();
            var all = new Match[Math.Max(1, service.FastIndex.PersonCount)];

            void Probe(string file, long? truth)
            {
                BgrImage image;
                try { image = ImageDecoder.Decode(file); }
                catch (ImageDecodeException e) { failed++; errors.Add($"{Path.GetFileName(file)}: {e.Reason}"); return; }
                var faces = service.Identify(image, top: 1).Where(f => f.Decision is not null).ToList();
                if (faces.Count == 0)
                {
                    failed++;
                    if (truth is not null) knownFailed++;
                    errors.Add($"{Path.GetRelativePath(root, file)}: no usable face");
                    return;
                }
                // The probe is the face that best matches the gallery; a stranger is a false match if any face is accepted.
                var best = faces.MaxBy(f => f.Decision!.Value.FastScore)!;
                var d = best.Decision!.Value;
                if (d.Tier == DecisionTier.Fast) fast++; else accurate++;
                foreach (var f in faces)
                {
                    int n = service.FastIndex.Search(f.Face.Embedding, all);
                    for (int i = 0; i < n; i++)
                        if (all[i].PersonId != truth) { impSum += all[i].Score; impSq += all[i].Score * (double)all[i].Score; impN++; }
                }
                if (truth is null)
                {
                    unknownProbes++;
                    if (faces.Any(f => f.Decision!.Value.Accepted)) falseMatches++;
                    return;
                }
                knownProbes++;
                if (best.Candidates.Count > 0 && best.Candidates[0].PersonId == truth) rank1++;
                if (d.Accepted && d.PersonId == truth) knownAccepted++;
                else if (faces.Any(f => f.Decision!.Value.Accepted && f.Decision.Value.PersonId != truth)) wrongAccepts++;
            }

            if (console is null) foreach (var (file, truth) in probes) Probe(file, truth);
            else
                console.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask($"identifying {probes.Count} probes", maxValue: probes.Count);
                        foreach (var (file, truth) in probes) { Probe(file, truth); task.Increment(1); }
                    });

            double mean = impN == 0 ? double.NaN : impSum / impN;
            double std = impN == 0 ? double.NaN : Math.Sqrt(Math.Max(0, impSq / impN - mean * mean));
            return new Outcome(people.Length, people.Length - unknownCount, unknownCount, service.FastIndex.Count, rejections,
                knownProbes, rank1, knownAccepted, wrongAccepts, knownFailed, unknownProbes, falseMatches, failed, policy.Fast.Threshold, fast, accurate,
                mean, std, impN, errors);
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    private static EnrollmentPhoto LoadPhoto(string file)
    {
        try { return new EnrollmentPhoto(file, ImageDecoder.Decode(file)); }
        catch (ImageDecodeException e) { return new EnrollmentPhoto(file, null, e.Reason); }
    }
}
