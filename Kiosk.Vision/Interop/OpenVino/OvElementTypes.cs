using Kiosk.Vision.Inference;

namespace Kiosk.Vision.Interop.OpenVino;

/// <summary>
/// The three numberings ov_element_type_e (ov_common.h) has had in the supported range. The values are not stable
/// across releases: a binding that hard-codes F32 = 5 creates f64 tensors on 2025.1 and later.
/// </summary>
internal enum OvElementNumbering
{
    /// <summary>2022.3 to 2024.1: UNDEFINED 0, DYNAMIC 1, BOOLEAN 2, BF16 3, F16 4, F32 5, ..., U1 12, U4 13, U8 14, ... U64 17.</summary>
    Release2022_3 = 1,
    /// <summary>2024.2 to 2025.0: U2, U3 and U6 inserted after U1, so U4 15, U8 17, ... U64 20; F16 4 and F32 5 unchanged.</summary>
    Release2024_2 = 2,
    /// <summary>2025.1 and later: UNDEFINED folded into DYNAMIC = 0, every later value one lower: F16 3, F32 4, U8 16.</summary>
    Release2025_1 = 3,
}

/// <summary>ov_element_type_e values by numbering, and the one-tensor probe that tells the numbering of a loaded library.</summary>
internal static class OvElementTypes
{
    // C names in value order, per numbering (ov_common.h of 2022.3, of 2024.4/2025.0, of 2025.1/2026.1).
    private static readonly string[] Names2022_3 =
        ["UNDEFINED", "DYNAMIC", "BOOLEAN", "BF16", "F16", "F32", "F64", "I4", "I8", "I16", "I32", "I64", "U1", "U4", "U8", "U16", "U32", "U64"];
    private static readonly string[] Names2024_2 =
        ["UNDEFINED", "DYNAMIC", "BOOLEAN", "BF16", "F16", "F32", "F64", "I4", "I8", "I16", "I32", "I64", "U1", "U2", "U3", "U4", "U6", "U8", "U16", "U32", "U64",
         "NF4", "F8E4M3", "F8E5M2", "STRING", "F4E2M1", "F8E8M0"];
    private static readonly string[] Names2025_1 =
        ["DYNAMIC", "BOOLEAN", "BF16", "F16", "F32", "F64", "I4", "I8", "I16", "I32", "I64", "U1", "U2", "U3", "U4", "U6", "U8", "U16", "U32", "U64",
         "NF4", "F8E4M3", "F8E5M2", "STRING", "F4E2M1", "F8E8M0"];

    /// <summary>The value probed by <see cref="FromProbe"/>: U64 (8 bytes) in 2022.3, U8 (1 byte) in 2024.2, U16 (2 bytes) in 2025.1.</summary>
    public const uint ProbeValue = 17;

    public static OvElementNumbering ForRelease(int year, int release)
    {
        if (year < 2024 || (year == 2024 && release < 2)) return OvElementNumbering.Release2022_3;
        if (year == 2024 || (year == 2025 && release < 1)) return OvElementNumbering.Release2024_2;
        return OvElementNumbering.Release2025_1;
    }

    /// <summary>The numbering a one-element tensor of type <see cref="ProbeValue"/> reveals by its byte size, or null.</summary>
    public static OvElementNumbering? FromProbe(nuint byteSizeOfOneElement) => byteSizeOfOneElement switch
    {
        8 => OvElementNumbering.Release2022_3,
        1 => OvElementNumbering.Release2024_2,
        2 => OvElementNumbering.Release2025_1,
        _ => null,
    };

    public static uint F32(OvElementNumbering n) => n == OvElementNumbering.Release2025_1 ? 4u : 5u;
    public static uint F16(OvElementNumbering n) => n == OvElementNumbering.Release2025_1 ? 3u : 4u;

    private static string[] Names(OvElementNumbering n) => n switch
    {
        OvElementNumbering.Release2022_3 => Names2022_3,
        OvElementNumbering.Release2024_2 => Names2024_2,
        _ => Names2025_1,
    };

    /// <summary>The C name of <paramref name="value"/> in numbering <paramref name="n"/> (e.g. "F16"), or "#value".</summary>
    public static string Name(uint value, OvElementNumbering n)
    {
        var names = Names(n);
        return value < names.Length ? names[value] : "#" + value;
    }

    /// <summary>The kiosk's (ONNX-numbered) element type for <paramref name="value"/>.</summary>
    public static TensorElementType ToTensorElementType(uint value, OvElementNumbering n) => Name(value, n) switch
    {
        "BOOLEAN" => TensorElementType.Bool,
        "BF16" => TensorElementType.BFloat16,
        "F16" => TensorElementType.Float16,
        "F32" => TensorElementType.Float,
        "F64" => TensorElementType.Double,
        "I8" => TensorElementType.Int8,
        "I16" => TensorElementType.Int16,
        "I32" => TensorElementType.Int32,
        "I64" => TensorElementType.Int64,
        "U8" => TensorElementType.UInt8,
        "U16" => TensorElementType.UInt16,
        "U32" => TensorElementType.UInt32,
        "U64" => TensorElementType.UInt64,
        "STRING" => TensorElementType.String,
        _ => TensorElementType.Undefined,
    };
}
