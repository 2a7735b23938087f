namespace Kiosk.Vision.Imaging;

/// <summary>
/// Tightly packed 8-bit BGR pixels (B, G, R per pixel, row stride = <see cref="Width"/> * 3), top row first.
/// The buffer is owned and can be reused for another size with <see cref="Reset"/>, so a decode loop needs
/// no new allocation once the largest frame has been seen.
/// </summary>
/// <remarks>Not thread-safe; spans returned by <see cref="Pixels"/> and <see cref="Row"/> are invalidated by <see cref="Reset"/>.</remarks>
public sealed class BgrImage
{
    public BgrImage(int width, int height)
    {
        Buffer = new byte[CheckedSize(width, height)];
        Width = width;
        Height = height;
    }

    /// <summary>An empty image (0x0, no buffer) for decoders to <see cref="Reset"/>; never handed out in that state.</summary>
    internal BgrImage()
    {
        Buffer = [];
    }

    public int Width { get; private set; }

    public int Height { get; private set; }

    public int Stride => Width * 3;

    /// <summary>The backing array; at least Width*Height*3 long, possibly longer after <see cref="Reset"/> to a smaller size.</summary>
    public byte[] Buffer { get; private set; }

    public Span<byte> Pixels => Buffer.AsSpan(0, Stride * Height);

    public Span<byte> Row(int y)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(y);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(y, Height);
        return Buffer.AsSpan(y * Stride, Stride);
    }

    /// <summary>Changes the size, keeping the buffer when it is large enough. Pixel contents are unspecified afterwards.</summary>
    public void Reset(int width, int height)
    {
        int size = CheckedSize(width, height);
        if (size > Buffer.Length)
        {
            // Not Array.Resize: the old pixels are not wanted, only the space.
            Buffer = new byte[size];
        }
        Width = width;
        Height = height;
    }

    /// <summary>A copy with a buffer of exactly Width*Height*3 bytes.</summary>
    public BgrImage Clone()
    {
        var copy = new BgrImage(Width, Height);
        Pixels.CopyTo(copy.Pixels);
        return copy;
    }

    private static int CheckedSize(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        long size = (long)width * height * 3;
        if (size > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(width), $"An image of {width}x{height} does not fit in one array.");
        }
        return (int)size;
    }
}
