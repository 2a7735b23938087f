using Kiosk.Tests.Faces;
using Kiosk.Vision.Inference;
using Kiosk.Vision.Interop.OnnxRuntime;
using Kiosk.Vision.Models;

namespace Kiosk.Tests.Inference;

[Collection(ModelCollection.Name)]
public sealed class OnnxRuntimeBindingTests
{
    private static string FeatureModel => ModelFiles.Resolve(ModelCatalog.Default);
    private static string LandmarkModel => ModelFiles.Resolve(ModelCatalog.DefaultLandmarks);

    [Fact]
    public void The_loaded_library_is_the_pinned_build()
    {
        Assert.Equal(OrtLibrary.PinnedVersion, OrtLibrary.Version);
    }

    [Fact]
    public void A_session_reports_input_and_output_names_and_shapes()
    {
        using var session = new OrtSession(FeatureModel, new OrtSessionSettings { IntraOpThreads = 1 });
        var input = Assert.Single(session.Inputs);
        Assert.Equal("input", input.Name);
        Assert.Equal(TensorElementType.Float, input.ElementType);
        Assert.Equal([1L, 3, 112, 112], input.Shape);
        var output = Assert.Single(session.Outputs);
        Assert.Equal("output", output.Name);
        Assert.Equal(512, output.ElementCount);
    }

    [Fact]
    public void A_wrong_input_shape_is_a_typed_error_carrying_ort_message()
    {
        using var session = new OrtSession(FeatureModel, new OrtSessionSettings { IntraOpThreads = 1 });
        using var wrong = OrtTensor.Allocate([1, 3, 100, 100]);
        using var output = OrtTensor.Allocate([1, 512]);
        var e = Assert.Throws<OnnxRuntimeException>(() => session.Run(["input"], [wrong], ["output"], [output]));
        Assert.Equal(OrtErrorCode.InvalidArgument, e.ErrorCode);
        Assert.Contains("dimensions", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void An_unknown_input_name_is_a_typed_error()
    {
        using var session = new OrtSession(FeatureModel, new OrtSessionSettings { IntraOpThreads = 1 });
        using var input = OrtTensor.Allocate([1, 3, 112, 112]);
        using var output = OrtTensor.Allocate([1, 512]);
        var e = Assert.Throws<OnnxRuntimeException>(() => session.Run(["no_such_input"], [input], ["output"], [output]));
        Assert.Contains("no_such_input", e.Message);
    }

    [Fact]
    public void A_file_that_is_not_a_model_is_a_typed_error()
    {
        string path = Path.Combine(Path.GetTempPath(), $"kiosk-not-a-model-{Guid.NewGuid():N}.onnx");
        File.WriteAllText(path, "this is not an ONNX model");
        try
        {
            var e = Assert.Throws<OnnxRuntimeException>(() => new OrtSession(path));
            Assert.NotEqual(OrtErrorCode.Ok, e.ErrorCode);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_tensor_whose_buffer_does_not_fit_its_shape_is_refused_before_reaching_ort()
    {
        Assert.Throws<ArgumentException>(() => OrtTensor.Create(new float[10], [1, 3, 2, 2]));
        Assert.Throws<ArgumentException>(() => OrtTensor.Create(new float[12], [1, -3, 2, 2]));
        Assert.Throws<OverflowException>(() => OrtTensor.Allocate([long.MaxValue, 4]));
    }

    [Fact]
    public void Bound_runs_write_outputs_in_place_and_match_a_fresh_run()
    {
        using var model = new OnnxRuntimeModel("fr_landmark", LandmarkModel, new InferenceOptions { Threads = 1 });
        var rng = new Random(7);
        for (int i = 0; i < model.Input().Length; i++) model.Input()[i] = (float)rng.NextDouble();
        model.Run();
        var first = model.Output().ToArray();

        using var session = new OrtSession(LandmarkModel, new OrtSessionSettings { IntraOpThreads = 1 });
        using var input = OrtTensor.Create(model.Input().ToArray(), [1, 1, 64, 64]);
        using var output = OrtTensor.Allocate([1, 136]);
        session.Run(["input"], [input], ["output"], [output]);
        Assert.Equal(first, output.Span.ToArray());
    }

    internal static long ResidentBytes()
    {
        // /proc/self/statm: size resident shared ... in pages.
        var fields = File.ReadAllText("/proc/self/statm").Split(' ');
        return long.Parse(fields[1]) * Environment.SystemPageSize;
    }
}

/// <summary>
/// Leak checks read process-wide counters (resident memory, live native values), so nothing else may run beside
/// them: their collection is not parallelized with any other.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class IsolatedCollection
{
    public const string Name = "isolated (process-wide measurements)";
}

[Collection(IsolatedCollection.Name)]
public sealed class OnnxRuntimeLeakTests
{
    private static string LandmarkModel => ModelFiles.Resolve(ModelCatalog.DefaultLandmarks);
    private static long ResidentBytes() => OnnxRuntimeBindingTests.ResidentBytes();

    [Fact]
    public void Ten_thousand_runs_allocate_nothing_managed_and_do_not_grow_native_memory()
    {
        using var model = new OnnxRuntimeModel("fr_landmark", LandmarkModel, new InferenceOptions { Threads = 1 });
        model.Input().Fill(0.5f);
        for (int i = 0; i < 500; i++) model.Run(); // warm-up: arena and caches reach their steady size

        GC.Collect();
        long rssBefore = ResidentBytes();
        long managedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++) model.Run();
        long managed = GC.GetAllocatedBytesForCurrentThread() - managedBefore;
        long rssGrowth = ResidentBytes() - rssBefore;

        Assert.Equal(0, managed);
        Assert.True(rssGrowth < 8 << 20, $"resident memory grew by {rssGrowth >> 10} KiB over 10,000 runs");
    }

    [Fact]
    public void Every_native_tensor_value_is_released_when_disposed_or_collected()
    {
        long baseline = OrtValueHandleProbe.Live;
        for (int i = 0; i < 10_000; i++) { using var t = OrtTensor.Allocate([1, 3, 112, 112]); }
        Assert.Equal(baseline, OrtValueHandleProbe.Live);

        // Sessions and bound models release theirs too.
        for (int i = 0; i < 50; i++)
        {
            using var model = new OnnxRuntimeModel("fr_landmark", LandmarkModel, new InferenceOptions { Threads = 1 });
            model.Run();
        }
        Assert.Equal(baseline, OrtValueHandleProbe.Live);

        // A tensor dropped without Dispose is released by its SafeHandle's finalizer.
        CreateAndDrop();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(baseline, OrtValueHandleProbe.Live);
    }

    [Fact]
    public void A_bound_tensor_disposed_early_keeps_its_memory_pinned_until_the_binding_goes()
    {
        using var session = new OrtSession(LandmarkModel, new OrtSessionSettings { IntraOpThreads = 1 });
        var input = OrtTensor.Allocate([1, 1, 64, 64]);
        var outputBuffer = new float[136];
        var output = OrtTensor.Create(outputBuffer, [1, 136]);
        input.Span.Fill(0.5f);
        using var binding = new OrtSession.Binding(session, ["input"], [input], ["output"], [output]);
        long live = OrtValueHandleProbe.Live;
        input.Dispose();
        output.Dispose();
        Assert.Equal(live, OrtValueHandleProbe.Live); // still referenced by the binding: not released
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        binding.Run();
        Assert.Contains(outputBuffer, v => v != 0); // ORT wrote into the caller's (still pinned) buffer
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void CreateAndDrop() => OrtTensor.Allocate([1, 512]);
}

/// <summary>Reads the process-wide count of live OrtValues.</summary>
internal static class OrtValueHandleProbe
{
    public static long Live => Kiosk.Vision.Interop.OnnxRuntime.OrtValueHandle.Live;
}
