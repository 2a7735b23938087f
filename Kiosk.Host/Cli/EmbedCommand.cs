using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Imaging;
using Spectre.Console;

namespace Kiosk.Host.Cli;

internal static class EmbedCommand
{
    public static Command Create(KioskSettings settings)
    {
        var common = new CommonOptions(settings, DetectionMode.Multi);
        var image = new Argument<FileInfo>("image") { Description = "JPEG, PNG or PGM/PPM file" };
        var json = new Option<bool>("--json") { Description = "Print JSON (boxes, points, quality, full embeddings)" };
        var cmd = new Command("embed", "Find the faces in an image and print their embeddings") { image, json };
        common.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var file = r.GetValue(image)!;
            using var pipeline = new FacePipeline(common.PipelineOptions(r));
            var img = ImageDecoder.Decode(file.FullName);
            var faces = pipeline.Analyze(img);
            if (r.GetValue(json))
            {
                var doc = new EmbedJson(file.Name, img.Width, img.Height, pipeline.Embedder.Spec.Name,
                    faces.Select(FaceJson.From).ToArray());
                Console.WriteLine(JsonSerializer.Serialize(doc, CliJsonContext.Default.EmbedJson));
                return faces.Count > 0 ? 0 : 1;
            }
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(file.Name)}[/] {img.Width}x{img.Height}: {faces.Count} face(s), model {pipeline.Embedder.Spec.Name} ({pipeline.Embedder.Dimension}-d)");
            var table = new Table().AddColumns("#", "box x1,y1,x2,y2", "score", "5 points (eyes, nose, mouth)", "size px", "sharpness", "yaw°", "embedding (first 4)");
            int i = 0;
            foreach (var f in faces)
            {
                var b = f.Detection.Box;
                table.AddRow((++i).ToString(), F($"{b.X1:F0},{b.Y1:F0},{b.X2:F0},{b.Y2:F0}"), F($"{f.Detection.Score:F3}"),
                    string.Join(" ", f.Points.ToArray().Select(p => F($"({p.X:F0},{p.Y:F0})"))),
                    F($"{f.Quality.FaceSize:F0}"), F($"{f.Quality.Sharpness:F0}"), F($"{f.Quality.YawDegrees:F0}"),
                    string.Join(" ", f.Embedding.Take(4).Select(v => v.ToString("F3", CultureInfo.InvariantCulture))) + " …");
            }
            AnsiConsole.Write(table);
            if (faces.Count == 0) Console.Error.WriteLine("no face found");
            return faces.Count > 0 ? 0 : 1;
        });
        return cmd;
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

internal sealed record FaceJson(float[] Box, float Score, float[][] Points, float FaceSize, float InterocularDistance,
    double Sharpness, float YawDegrees, bool FoundAfterPadding, float[] Embedding)
{
    public static FaceJson From(FaceResult f) => new(
        [f.Detection.Box.X1, f.Detection.Box.Y1, f.Detection.Box.X2, f.Detection.Box.Y2], f.Detection.Score,
        f.Points.ToArray().Select(p => new[] { p.X, p.Y }).ToArray(), f.Quality.FaceSize, f.Quality.InterocularDistance,
        f.Quality.Sharpness, f.Quality.YawDegrees, f.FoundAfterPadding, f.Embedding);
}

internal sealed record EmbedJson(string Image, int Width, int Height, string Model, FaceJson[] Faces);

internal sealed record CompareJson(string ImageA, string ImageB, string Model, float Similarity, float Threshold, bool Same);

[JsonSerializable(typeof(EmbedJson))]
[JsonSerializable(typeof(CompareJson))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = false)]
internal sealed partial class CliJsonContext : JsonSerializerContext;
