using Kiosk.Vision.Matching;

namespace Kiosk.Tests.Matching;

/// <summary>Seeded random galleries and the obvious brute-force search to check the index against.</summary>
internal sealed class Gallery
{
    public sealed record Template(long PersonId, long TemplateId, float[] Vector);

    public List<Template> Templates { get; } = [];

    /// <summary>Gaussian components, normalized: uniform on the sphere.</summary>
    public static float[] RandomUnit(Random rng, int dim)
    {
        var v = new float[dim];
        for (int i = 0; i < dim; i++) v[i] = Gaussian(rng);
        VectorMath.L2Normalize(v);
        return v;
    }

    /// <summary>A unit vector near <paramref name="center"/>: center + noise of <paramref name="sigma"/> per component.</summary>
    public static float[] Near(Random rng, ReadOnlySpan<float> center, float sigma)
    {
        var v = new float[center.Length];
        for (int i = 0; i < v.Length; i++) v[i] = center[i] + sigma * Gaussian(rng);
        VectorMath.L2Normalize(v);
        return v;
    }

    public static float Gaussian(Random rng) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));

    /// <summary>Persons 1..persons with 1..maxTemplates templates each, ids unique and not in insertion order.</summary>
    public static Gallery Random(Random rng, int dim, int persons, int maxTemplates)
    {
        var g = new Gallery();
        for (int p = 0; p < persons; p++)
        {
            long person = 1000 + 7L * p;
            int n = rng.Next(1, maxTemplates + 1);
            for (int t = 0; t < n; t++) g.Templates.Add(new Template(person, rng.NextInt64(1, long.MaxValue), RandomUnit(rng, dim)));
        }
        return g;
    }

    public FaceIndex Build(VectorPrecision precision, int initialCapacity = 16, ScoreKernels.Isa? isa = null)
    {
        int dim = Templates[0].Vector.Length;
        var index = new FaceIndex(dim, precision, initialCapacity, isa ?? ScoreKernels.Best);
        foreach (var t in Templates) index.Add(t.PersonId, t.TemplateId, t.Vector);
        return index;
    }

    /// <summary>Top-k persons by best template, in double precision; ties as the index breaks them.</summary>
    public Match[] Search(ReadOnlySpan<float> query, int k, bool normalizeQuery = true)
    {
        double norm = 0;
        foreach (float x in query) norm += (double)x * x;
        norm = normalizeQuery ? Math.Sqrt(norm) : 1;
        var best = new Dictionary<long, (double Score, long Template)>();
        foreach (var t in Templates)
        {
            double s = 0;
            for (int i = 0; i < query.Length; i++) s += (double)query[i] * t.Vector[i];
            s /= norm;
            if (!best.TryGetValue(t.PersonId, out var b) || s > b.Score || (s == b.Score && t.TemplateId < b.Template))
                best[t.PersonId] = (s, t.TemplateId);
        }
        return best.OrderByDescending(e => e.Value.Score).ThenBy(e => e.Key).Take(k)
            .Select(e => new Match(e.Key, e.Value.Template, (float)e.Value.Score)).ToArray();
    }
}
