using System.CommandLine;
using System.Text.Json;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Imaging;
using Kiosk.Vision.Matching;

namespace Kiosk.Host.Cli;

internal static class CompareCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var a = new Argument<FileInfo>("image-a") { Description = "first image" };
        var b = new Argument<FileInfo>("image-b") { Description = "second image" };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var cmd = new Command("compare", "Compare the largest face of two images: cosine similarity and same/different verdict") { a, b, json };
        common.AddTo(cmd);
        cmd.SetAction(r =>
        {
            using var pipeline = new FacePipeline(common.PipelineOptions(r));
            var fa = LargestFace(pipeline, r.GetValue(a)!);
            var fb = LargestFace(pipeline, r.GetValue(b)!);
            var spec = pipeline.Embedder.Spec;
            float sim = VectorMath.CosineOfUnit(fa.Embedding, fb.Embedding);
            bool same = sim >= spec.Threshold;
            if (r.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(
                    new CompareJson(r.GetValue(a)!.Name, r.GetValue(b)!.Name, spec.Name, sim, spec.Threshold, same), CliJsonContext.Default.CompareJson));
            }
            else
            {
                Console.WriteLine($"similarity {sim:F4} (cosine, -1..1), threshold {spec.Threshold:F2} ({spec.Name}): {(same ? "SAME person" : "DIFFERENT people")}");
            }
            return 0;
        });
        return cmd;
    }

    private static FaceResult LargestFace(FacePipeline pipeline, FileInfo file)
    {
        var faces = pipeline.Analyze(ImageDecoder.Decode(file.FullName), largestOnly: true);
        if (faces.Count == 0) throw new ArgumentException($"no face found in {file.FullName}");
        return faces[0];
    }
}
