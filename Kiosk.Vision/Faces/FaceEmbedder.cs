using Kiosk.Vision.Imaging;
using Kiosk.Vision.Inference;
using Kiosk.Vision.Matching;
using Kiosk.Vision.Models;
using Kiosk.Vision.Preprocessing;

namespace Kiosk.Vision.Faces;

/// <summary>
/// Turns a face into an L2-normalized embedding as its <see cref="EmbedderSpec"/> describes: crop, channel order,
/// layout, normalization, output. One class for every model. Not thread-safe (it owns its crop and tensors).
/// </summary>
public sealed class FaceEmbedder : IDisposable
{
    private readonly IInferenceModel _model;
    private readonly int _output;
    private readonly BgrImage _crop;
    private readonly BgrImage? _flipped;
    private readonly float[]? _flipSum;

    public EmbedderSpec Spec { get; }
    public IInferenceModel Model => _model;
    public int Dimension => Spec.OutputSize;

    /// <summary>The aligned crop of the last face embedded (valid until the next call).</summary>
    public BgrImage Crop => _crop;

    public FaceEmbedder(EmbedderSpec spec, InferenceOptions options)
    {
        Spec = spec;
        _model = ModelFiles.OpenImageModel(spec, options, m => EmbeddingOutput(spec, m), out _output);
        _crop = new BgrImage(spec.Width, spec.Height);
        if (spec.FlipAugment)
        {
            _flipped = new BgrImage(spec.Width, spec.Height);
            _flipSum = new float[spec.OutputSize];
        }
    }

    private static int EmbeddingOutput(EmbedderSpec spec, IInferenceModel model)
    {
        int output = ModelFiles.OutputIndex(spec, model, spec.OutputName);
        if (model.Outputs[output].ElementCount != spec.OutputSize)
            throw new ModelSpecMismatchException(
                $"Model '{spec.Name}': output '{model.Outputs[output].Name}' is {model.Outputs[output].ShapeText}, spec says {spec.OutputSize} values");
        return output;
    }

    /// <summary>Cuts the face out into <see cref="Crop"/>; returns the image -> crop transform.</summary>
    public Affine2D Align(BgrImage image, in BoxF box, in FivePoints points) =>
        FaceAligner.Align(image, Spec.Crop, box, points, _crop);

    /// <summary>Embeds what is in <see cref="Crop"/> into <paramref name="embedding"/> (length = <see cref="Dimension"/>).</summary>
    public void EmbedCrop(Span<float> embedding) => EmbedCrop(_crop, embedding);

    /// <summary>Embeds an already aligned crop of the spec's size.</summary>
    public void EmbedCrop(BgrImage crop, Span<float> embedding)
    {
        if (crop.Width != Spec.Width || crop.Height != Spec.Height)
            throw new ArgumentException($"crop is {crop.Width}x{crop.Height}, model '{Spec.Name}' takes {Spec.Width}x{Spec.Height}");
        if (embedding.Length != Spec.OutputSize)
            throw new ArgumentException($"embedding buffer has {embedding.Length} floats, model '{Spec.Name}' gives {Spec.OutputSize}");
        RunOn(crop, embedding);
        if (_flipped is not null)
        {
            ImageOps.FlipHorizontal(crop, _flipped);
            RunOn(_flipped, _flipSum);
            System.Numerics.Tensors.TensorPrimitives.Add(embedding, _flipSum, embedding);
        }
        VectorMath.L2Normalize(embedding);
    }

    private void RunOn(BgrImage crop, Span<float> into)
    {
        ImageOps.ToTensor(crop, _model.Input(), Spec.Layout, Spec.Channels, Spec.Normalization);
        _model.Run();
        _model.Output(_output)[..Spec.OutputSize].CopyTo(into);
        // Each view is normalized first so that both count equally when flip augmentation adds them.
        VectorMath.L2Normalize(into);
    }

    public void Dispose() => _model.Dispose();
}
