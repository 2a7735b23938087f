using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Kiosk.Vision.Matching;

/// <summary>
/// Rows of <see cref="Stride"/> elements in one contiguous buffer whose first row starts on a
/// <see cref="ScoreKernels.RowAlignment"/>-byte boundary, so that every row does (the stride is a whole number of
/// such blocks) and the kernels' loads never straddle cache lines.
/// </summary>
/// <remarks>
/// The buffer lives on the pinned object heap: it never moves, so the alignment found at allocation holds. It is not
/// zeroed (a 2 GB gallery would be written twice); writers fill whole rows, padding included.
/// </remarks>
internal sealed class RowStore<T> where T : unmanaged
{
    private T[] _buffer = [];
    private int _offset;

    public RowStore(int stride) => Stride = stride;

    public int Stride { get; }

    /// <summary>Rows the buffer holds.</summary>
    public int Capacity { get; private set; }

    public long Bytes => (long)_buffer.Length * Unsafe.SizeOf<T>();

    /// <summary>Most rows one buffer can hold: a .NET array has at most <see cref="Array.MaxLength"/> elements.</summary>
    public int MaxRows => (Array.MaxLength - ScoreKernels.RowAlignment) / Stride;

    public Span<T> Row(int row) => _buffer.AsSpan(_offset + row * Stride, Stride);

    public Span<T> Rows(int start, int count) => _buffer.AsSpan(_offset + start * Stride, count * Stride);

    /// <summary>Replaces the buffer with one of <paramref name="capacity"/> rows, keeping the first <paramref name="keep"/>.</summary>
    public unsafe void Resize(int capacity, int keep)
    {
        if (capacity > MaxRows) throw new InvalidOperationException($"at most {MaxRows} rows of {Stride} elements fit one buffer");
        int pad = ScoreKernels.RowAlignment / Unsafe.SizeOf<T>();
        var buffer = GC.AllocateUninitializedArray<T>(capacity * Stride + pad, pinned: true);
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        int offset = (int)((ScoreKernels.RowAlignment - address % ScoreKernels.RowAlignment) % ScoreKernels.RowAlignment) / Unsafe.SizeOf<T>();
        Rows(0, keep).CopyTo(buffer.AsSpan(offset, keep * Stride));
        _buffer = buffer;
        _offset = offset;
        Capacity = capacity;
    }

    public void Move(int from, int to) => Row(from).CopyTo(Row(to));
}
