namespace Kiosk.Vision.Inference;

/// <summary>Tensor element types, numbered as ONNX numbers them (ONNXTensorElementDataType).</summary>
public enum TensorElementType
{
    Undefined = 0, Float = 1, UInt8 = 2, Int8 = 3, UInt16 = 4, Int16 = 5, Int32 = 6, Int64 = 7, String = 8, Bool = 9,
    Float16 = 10, Double = 11, UInt32 = 12, UInt64 = 13, Complex64 = 14, Complex128 = 15, BFloat16 = 16,
}

/// <summary>Name, element type and shape of a model input or output; -1 marks a dynamic dimension.</summary>
public sealed record TensorInfo(string Name, TensorElementType ElementType, long[] Shape, string?[] SymbolicDimensions)
{
    public string ShapeText => string.Join('x', Shape.Select(d => d < 0 ? "?" : d.ToString()));

    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Shape) n *= Math.Max(d, 1);
            return n;
        }
    }

    public override string ToString() => $"{Name}: {ElementType}[{ShapeText}]";
}
