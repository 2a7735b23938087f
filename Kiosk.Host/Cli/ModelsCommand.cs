using System.CommandLine;
using Kiosk.Vision;
using Kiosk.Vision.Inference;
using Kiosk.Vision.Interop.OnnxRuntime;
using Kiosk.Vision.Models;
using Spectre.Console;

namespace Kiosk.Host.Cli;

/// <summary>models list | fetch: the built-in specs, where they would run, and the Open Model Zoo downloads.</summary>
internal static class ModelsCommand
{
    public static Command Create(KioskSettings settings)
    {
        var models = new Command("models", "Model specs and files");
        models.Subcommands.Add(List(settings));
        models.Subcommands.Add(Fetch(settings));
        return models;
    }

    private static Command List(KioskSettings settings)
    {
        var list = new Command("list", "Built-in model specs, whether their files are installed and verified, and the backends here");
        list.SetAction(_ =>
        {
            var table = new Table().AddColumns("name", "kind", "backend", "input", "output", "threshold (cosine)", "file");
            var absent = new List<string>();
            foreach (var raw in ModelCatalog.All)
            {
                var spec = settings.WithPrecision(raw);
                var (kind, output, threshold) = spec switch
                {
                    DetectorSpec d => ("detector", d.Output == DetectorOutput.SsdDetectionOutput ? "SSD boxes" : "boxes", ""),
                    LandmarkSpec l => ("landmarks", l.Output == LandmarkOutput.Points68Normalized ? "68 points" : "5 points", ""),
                    EmbedderSpec e => ("embedder", $"{e.OutputSize}-d", $"{e.Threshold:F2}"),
                    _ => ("?", "", ""),
                };
                var (file, state, usable) = FileState(spec);
                table.AddRow(spec.Name, kind, $"{spec.Backend} {spec.Device}", $"{spec.Width}x{spec.Height} {spec.Channels}", output, threshold, state);
                if (!usable) absent.Add(file);
            }
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"Model files are in {KioskPaths.ModelsDir}");
            foreach (string file in absent) AnsiConsole.MarkupLineInterpolated($"  not there: {file}");

            var omz = new Table().AddColumns("Open Model Zoo model", "precisions", "installed and verified");
            foreach (var m in OmzDownloads.Models)
            {
                var installed = OmzFetch.Installed(m, KioskPaths.ModelsDir);
                bool convert = m.ConversionSteps is not null;
                omz.AddRow(m.Name, convert ? "converted here" : string.Join(", ", OmzDownloads.Precisions(m)),
                    convert ? ConvertedState(m) : installed.Count > 0 ? string.Join(", ", installed) : "-");
            }
            AnsiConsole.Write(omz);
            AnsiConsole.MarkupLine("Get one with [bold]kiosk models fetch NAME [[--precision FP16]][/] (FaceNet: the same command prints how to convert it)");

            int status = 0;
            try
            {
                AnsiConsole.MarkupLineInterpolated($"ONNX Runtime {OrtLibrary.Version} from {OrtLibrary.LoadedFrom}");
            }
            catch (OnnxRuntimeNotFoundException e)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]{e.Message}[/]");
                status = 1;
            }
            var ov = OpenVinoRuntime.Probe();
            if (ov.Available)
                AnsiConsole.MarkupLineInterpolated($"OpenVINO {ov.Version} from {ov.LoadedFrom}; devices: {string.Join(", ", ov.Devices.Select(d => $"{d.Name} ({d.FullName})"))}");
            else
                AnsiConsole.MarkupLineInterpolated($"[yellow]OpenVINO not available: {ov.Error}[/]");
            return status;
        });
        return list;
    }

    private static Command Fetch(KioskSettings settings)
    {
        var names = new Argument<string[]>("name") { Description = "Open Model Zoo model names (see `kiosk models list`)", Arity = ArgumentArity.OneOrMore };
        var precision = new Option<string>("--precision")
        {
            Description = "IR precision: FP32 (CPU), FP16 (the NCS2 and GPUs) or FP16-INT8; default Models:Precision or FP32",
            DefaultValueFactory = _ => settings.Precision.Length > 0 ? settings.Precision : "FP32",
        };
        var mirror = new Option<Uri?>("--mirror")
        {
            Description = "A server with the same paths as storage.openvinotoolkit.org (an internal mirror); setting Models:Mirror",
            CustomParser = r => r.Tokens.Count == 0 ? null : Uri.TryCreate(r.Tokens[0].Value, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" ? u
                : throw new UsageException($"--mirror {r.Tokens[0].Value} is not an http(s) URL"),
        };
        var release = new Option<string?>("--release")
        {
            Description = "Which of the zoo's IR sets: 2023.0 (OpenVINO 2023.0 and later) or 2022.3 (the 2022.3 LTS runtime, the last with the NCS2); " +
                          "default: 2022.3 when the OpenVINO found here is a 2022 release, else 2023.0",
        };
        release.AcceptOnlyFromAmong([.. OmzDownloads.Releases]);
        var cmd = new Command("fetch", "Download Open Model Zoo models with resume, progress and SHA-384 checks (the zoo's own hashes); for FaceNet print how to convert it")
        {
            names, precision, mirror, release,
        };
        cmd.SetAction(async (r, ct) =>
        {
            string p = r.GetValue(precision)!;
            string set = r.GetValue(release) ?? DefaultRelease();
            AnsiConsole.MarkupLineInterpolated($"[grey]Open Model Zoo IRs for OpenVINO {set} ({p})[/]");
            Uri? from = r.GetValue(mirror) ?? (settings.ModelMirror.Length > 0 ? new Uri(settings.ModelMirror) : null);
            var wanted = new List<OmzModel>();
            foreach (string name in r.GetValue(names)!)
                wanted.Add(OmzDownloads.Find(name) ?? throw new UsageException(
                    $"unknown model '{name}'; Open Model Zoo models: {string.Join(", ", OmzDownloads.Models.Select(m => m.Name))}"));
            var downloads = new List<ModelDownload>();
            foreach (var m in wanted)
            {
                if (m.ConversionSteps is { } steps)
                {
                    // A TensorFlow graph: the kiosk cannot convert it, the user's connected machine can.
                    AnsiConsole.MarkupLineInterpolated($"[bold]{m.Name}[/] is a TensorFlow graph that needs converting to OpenVINO IR on a machine with Python:");
                    AnsiConsole.WriteLine(steps);
                    continue;
                }
                downloads.AddRange(OmzFetch.Plan(m, p, KioskPaths.ModelsDir, from, set));
            }
            if (downloads.Count == 0) return 0;
            using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            http.DefaultRequestHeaders.UserAgent.ParseAdd("kiosk-models-fetch/1");
            var downloader = new ModelDownloader(http);
            var failures = new List<string>();
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn())
                .StartAsync(async progress =>
                {
                    foreach (var d in downloads)
                    {
                        string label = Markup.Escape(Path.GetRelativePath(KioskPaths.ModelsDir, d.Destination));
                        var task = progress.AddTask(label, maxValue: d.Size ?? 1);
                        try
                        {
                            bool fetched = await downloader.DownloadAsync(d, new Progress<(long Done, long? Total)>(x =>
                            {
                                task.MaxValue = x.Total ?? Math.Max(task.MaxValue, x.Done);
                                task.Value = x.Done;
                            }), ct).ConfigureAwait(false);
                            task.Value = task.MaxValue;
                            task.Description = label + (fetched ? " [green]verified[/]" : " [green]already there, verified[/]");
                        }
                        catch (ModelDownloadException e)
                        {
                            failures.Add(e.Message);
                            task.Description = label + " [red]failed[/]";
                            task.StopTask();
                        }
                    }
                }).ConfigureAwait(false);
            foreach (string f in failures) AnsiConsole.MarkupLineInterpolated($"[red]error: {f}[/]");
            if (failures.Count > 0) return 2;
            AnsiConsole.MarkupLineInterpolated($"{downloads.Count} file(s) in place under {Path.Combine(KioskPaths.ModelsDir, "omz")}, every SHA-384 as the zoo's model.yml pins it");
            return 0;
        });
        return cmd;
    }

    /// <summary>The IR set the runtime here reads: a 2022 runtime (the NCS2's 2022.3 LTS) gets the 2022.3 set.</summary>
    private static string DefaultRelease()
    {
        var ov = OpenVinoRuntime.Probe();
        return ov is { Available: true, Version: { } v } && Kiosk.Vision.Interop.OpenVino.OvLibrary.ReleaseOf(v).Year <= 2022
            ? OmzDownloads.LtsRelease : OmzDownloads.CurrentRelease;
    }

    /// <summary>The spec's file (relative to the models folder when inside it) and whether it is there with its pinned hash.</summary>
    internal static (string File, string State, bool Usable) FileState(ModelFileSpec spec)
    {
        string path = ModelFiles.PathOf(spec);
        string shown = path.StartsWith(KioskPaths.ModelsDir + "/", StringComparison.Ordinal) ? Path.GetRelativePath(KioskPaths.ModelsDir, path) : path;
        try
        {
            ModelFiles.Resolve(spec);
            return (shown, spec.Sha256 is null && spec.Omz is null ? "[green]present[/] (not pinned)" : "[green]verified[/]", true);
        }
        catch (ModelFileException e)
        {
            return (shown, File.Exists(path) ? $"[red]CORRUPT[/] {Markup.Escape(e.Message)}" : "[yellow]missing[/]", false);
        }
    }

    private static string ConvertedState(OmzModel m)
    {
        string dir = Path.Combine(KioskPaths.ModelsDir, "omz", m.Name);
        var found = ModelFileSpec.Precisions.Where(p => File.Exists(Path.Combine(dir, p, m.Name + ".xml")) && File.Exists(Path.Combine(dir, p, m.Name + ".bin"))).ToArray();
        return found.Length > 0 ? string.Join(", ", found) + " (converted; not pinned)" : "-";
    }
}
