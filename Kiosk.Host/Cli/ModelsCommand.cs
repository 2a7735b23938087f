using System.CommandLine;
using Kiosk.Vision.Interop.OnnxRuntime;
using Kiosk.Vision.Models;
using Spectre.Console;

namespace Kiosk.Host.Cli;

internal static class ModelsCommand
{
    public static Command Create()
    {
        var models = new Command("models", "Model specs and files");
        var list = new Command("list", "Built-in model specs, whether their files are installed and verified");
        list.SetAction(_ =>
        {
            var table = new Table().AddColumns("name", "kind", "backend", "input", "output", "threshold (cosine)", "file");
            var all = new List<(ModelFileSpec Spec, string Kind, string Output, string Threshold)>
            {
                (ModelCatalog.DefaultDetector, "detector", ModelCatalog.DefaultDetector.Output.ToString(), ""),
                (ModelCatalog.DefaultLandmarks, "landmarks", ModelCatalog.DefaultLandmarks.Output.ToString(), ""),
            };
            all.AddRange(ModelCatalog.Embedders.Select(e => ((ModelFileSpec)e, "embedder", $"{e.OutputSize}-d", $"{e.Threshold:F2}")));
            foreach (var (spec, kind, output, threshold) in all)
                table.AddRow(spec.Name, kind, spec.Backend, $"{spec.Width}x{spec.Height} {spec.Channels}", output, threshold,
                    Markup.Escape(FileState(spec)));
            AnsiConsole.Write(table);
            try
            {
                AnsiConsole.MarkupLineInterpolated($"ONNX Runtime {OrtLibrary.Version} from {OrtLibrary.LoadedFrom}");
            }
            catch (OnnxRuntimeNotFoundException e)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]{e.Message}[/]");
                return 1;
            }
            return 0;
        });
        models.Subcommands.Add(list);
        return models;
    }

    private static string FileState(ModelFileSpec spec)
    {
        try
        {
            return $"ok  {ModelFiles.Resolve(spec)}";
        }
        catch (ModelFileException e)
        {
            return File.Exists(ModelFiles.PathOf(spec)) ? $"CORRUPT  {e.Message}" : $"missing  {ModelFiles.PathOf(spec)}";
        }
    }
}
