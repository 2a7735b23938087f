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

    /// <summary>
    /// The best-matching pair between two sets of unit vectors (e.g. every face of two photos): indices and cosine
    /// similarity. Both sets must be non-empty.
    /// </summary>
    public static (int A, int B, float Similarity) BestPair(IReadOnlyList<float[]> a, IReadOnlyList<float[]> b)
    {
        if (a.Count == 0 || b.Count == 0) throw new ArgumentException("both sets need at least one vector");
        (int, int, float) best = (0, 0, float.NegativeInfinity);
        for (int i = 0; i < a.Count; i++)
            for (int j = 0; j < b.Count; j++)
            {
                float s = CosineOfUnit(a[i], b[j]);
                if (s > best.Item3) best = (i, j, s);
            }
        return best;
    }
}
