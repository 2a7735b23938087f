using System.CommandLine;
using System.Text.Json;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Imaging;
using Kiosk.Vision.Matching;

namespace Kiosk.Host.Cli;

internal static class CompareCommand
{
    public static Command Create(KioskSettings settings)
    {
        var common = new CommonOptions(settings);
        var a = new Argument<FileInfo>("image-a") { Description = "first image" };
        var b = new Argument<FileInfo>("image-b") { Description = "second image" };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var cmd = new Command("compare", "Compare two images: the best-matching pair of their faces, cosine similarity and same/different verdict") { a, b, json };
        common.AddTo(cmd);
        cmd.SetAction(r =>
        {
            using var pipeline = new FacePipeline(common.PipelineOptions(r));
            var fa = Faces(pipeline, r.GetValue(a)!);
            var fb = Faces(pipeline, r.GetValue(b)!);
            var spec = pipeline.Embedder.Spec;
            var (ia, ib, sim) = VectorMath.BestPair(fa.Select(f => f.Embedding).ToArray(), fb.Select(f => f.Embedding).ToArray());
            bool same = sim >= spec.Threshold;
            if (r.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(
                    new CompareJson(r.GetValue(a)!.Name, r.GetValue(b)!.Name, spec.Name, sim, spec.Threshold, same), CliJsonContext.Default.CompareJson));
            }
            else
            {
                if (fa.Count > 1 || fb.Count > 1)
                    Console.WriteLine($"faces: {fa.Count} and {fb.Count}; best match: face {ia + 1} at {Box(fa[ia])} and face {ib + 1} at {Box(fb[ib])}");
                Console.WriteLine($"similarity {sim:F4} (cosine, -1..1), threshold {spec.Threshold:F2} ({spec.Name}): {(same ? "SAME person" : "DIFFERENT people")}");
            }
            return 0;
        });
        return cmd;
    }

    private static IReadOnlyList<FaceResult> Faces(FacePipeline pipeline, FileInfo file)
    {
        var faces = pipeline.Analyze(ImageDecoder.Decode(file.FullName));
        if (faces.Count == 0) throw new NoFaceException($"no face found in {file.FullName}");
        return faces;
    }

    private static string Box(FaceResult f) =>
        FormattableString.Invariant($"({f.Detection.Box.X1:F0},{f.Detection.Box.Y1:F0})-({f.Detection.Box.X2:F0},{f.Detection.Box.Y2:F0})");
}
