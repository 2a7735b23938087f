using System.Numerics.Tensors;

namespace Kiosk.Vision.Matching;

/// <summary>Embedding arithmetic. Similarities are cosine similarities in [-1, 1] (1 = same direction).</summary>
public static class VectorMath
{
    /// <summary>Scales <paramref name="v"/> to unit length in place; a zero vector stays zero.</summary>
    public static void L2Normalize(Span<float> v)
    {
        float norm = TensorPrimitives.Norm(v);
        if (norm > 0 && float.IsFinite(norm)) TensorPrimitives.Divide(v, norm, v);
    }

    /// <summary>Cosine similarity of two vectors of any length (no normalization assumed).</summary>
    public static float Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"vectors differ in length ({a.Length} vs {b.Length})");
        return TensorPrimitives.CosineSimilarity(a, b);
    }

    /// <summary>Cosine similarity of two unit vectors: their dot product.</summary>
    public static float CosineOfUnit(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"vectors differ in length ({a.Length} vs {b.Length})");
        return TensorPrimitives.Dot(a, b);
    }
}
