using Kiosk.Vision.Faces;
using Kiosk.Vision.Imaging;
using Kiosk.Vision.Inference;

namespace Kiosk.Tests.Faces;

/// <summary>One single-scale and one multi-scale pipeline on the real default models, shared by a test class.</summary>
public sealed class PipelineFixture : IDisposable
{
    public FacePipeline Single { get; } = new(new FacePipelineOptions { Inference = new InferenceOptions { Threads = 1 } });
    public FacePipeline Multi { get; } = new(new FacePipelineOptions { Inference = new InferenceOptions { Threads = 1 }, MultiScale = true });

    public static BgrImage Load(string name) => ImageDecoder.Decode(Path.Combine(TestPaths.PairsDev, name));

    public void Dispose()
    {
        Single.Dispose();
        Multi.Dispose();
    }
}

/// <summary>Tests that run the real models share the machine's two cores: not in parallel with each other.</summary>
[CollectionDefinition(Name)]
public sealed class ModelCollection
{
    public const string Name = "real models";
}
