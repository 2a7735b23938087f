namespace Kiosk.Vision.Matching;

/// <summary>How <see cref="FaceIndex"/> stores gallery vectors: bytes per component and therefore search speed.</summary>
public enum VectorPrecision
{
    /// <summary>4 bytes per component; scores exact to float rounding.</summary>
    Float32,

    /// <summary>2 bytes per component (<see cref="Half"/>); scores within about 1e-3 of float32.</summary>
    Float16,

    /// <summary>1 byte per component plus one float scale per row (symmetric per-row quantization); scores within a few 1e-3.</summary>
    Int8,
}

/// <summary>One gallery match: the person, their best template, cosine similarity (-1..1) of L2-normalized vectors.</summary>
public readonly record struct Match(long PersonId, long TemplateId, float Score);
