using System.Runtime.CompilerServices;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Imaging;
using Kiosk.Vision.Models;

namespace Kiosk.Vision.Preprocessing;

public enum BorderMode
{
    /// <summary>Outside pixels are black (OpenCV's warpAffine default).</summary>
    Constant,
    /// <summary>Outside pixels repeat the nearest edge pixel.</summary>
    Replicate,
}

/// <summary>
/// Pixel kernels of the face path. All write into caller-owned buffers: nothing here allocates per call,
/// except <see cref="ResizeTables"/>, which callers cache.
/// </summary>
public static class ImageOps
{
    /// <summary>
    /// Bilinear resampling of <paramref name="src"/> into <paramref name="dst"/>; <paramref name="dstToSrc"/>
    /// maps destination pixel coordinates (integer = pixel centre) to source coordinates.
    /// </summary>
    public static void WarpAffine(BgrImage src, in Affine2D dstToSrc, BgrImage dst, BorderMode border = BorderMode.Constant)
    {
        int sw = src.Width, sh = src.Height, ss = src.Stride;
        ReadOnlySpan<byte> s = src.Pixels;
        Span<byte> d = dst.Pixels;
        int dw = dst.Width, dh = dst.Height;
        var m = dstToSrc;
        for (int y = 0; y < dh; y++)
        {
            float bx = m.B * y + m.C, by = m.E * y + m.F;
            int o = y * dst.Stride;
            for (int x = 0; x < dw; x++, o += 3)
            {
                float fx = m.A * x + bx, fy = m.D * x + by;
                Sample(s, sw, sh, ss, fx, fy, border, out float b, out float g, out float r);
                d[o] = (byte)(b + 0.5f); d[o + 1] = (byte)(g + 0.5f); d[o + 2] = (byte)(r + 0.5f);
            }
        }
    }

    /// <summary>
    /// <see cref="WarpAffine"/> straight into a float tensor of <paramref name="width"/> x <paramref name="height"/>
    /// in the model's layout, channel order and mean/scale normalization, with no intermediate image.
    /// </summary>
    public static void WarpToTensor(BgrImage src, in Affine2D dstToSrc, Span<float> tensor, int width, int height,
        TensorLayout layout, ChannelOrder order, Normalization norm, BorderMode border)
    {
        if (norm.Kind != NormalizationKind.MeanScale)
            throw new ArgumentException("WarpToTensor supports mean/scale normalization only");
        int plane = width * height, channels = order == ChannelOrder.Gray ? 1 : 3;
        if (tensor.Length < plane * channels) throw new ArgumentException("tensor too small");
        GetChannelMap(order, norm, out int c0, out int c1, out int c2, out float m0, out float m1, out float m2,
            out float s0, out float s1, out float s2);
        ReadOnlySpan<byte> s = src.Pixels;
        var m = dstToSrc;
        for (int y = 0; y < height; y++)
        {
            float bx = m.B * y + m.C, by = m.E * y + m.F;
            for (int x = 0; x < width; x++)
            {
                Sample(s, src.Width, src.Height, src.Stride, m.A * x + bx, m.D * x + by, border, out float vb, out float vg, out float vr);
                int i = y * width + x;
                if (channels == 1) { tensor[i] = (Luma(vb, vg, vr) - m0) * s0; continue; }
                float a = (Pick(c0, vb, vg, vr) - m0) * s0, b = (Pick(c1, vb, vg, vr) - m1) * s1, c = (Pick(c2, vb, vg, vr) - m2) * s2;
                if (layout == TensorLayout.Nchw) { tensor[i] = a; tensor[plane + i] = b; tensor[2 * plane + i] = c; }
                else { tensor[3 * i] = a; tensor[3 * i + 1] = b; tensor[3 * i + 2] = c; }
            }
        }
    }

    /// <summary>
    /// The dst-to-src map that resamples the source rectangle (x, y, w, h) onto a dstW x dstH grid with resize
    /// conventions (pixel centres at +0.5), i.e. what crop-then-resize does, without the crop.
    /// </summary>
    public static Affine2D RectToGrid(float x, float y, float w, float h, int dstW, int dstH)
    {
        float sx = w / dstW, sy = h / dstH;
        return new Affine2D(sx, 0, x + 0.5f * sx - 0.5f, 0, sy, y + 0.5f * sy - 0.5f);
    }

    /// <summary>
    /// Bilinear sample at (fx, fy) in pixel-centre coordinates. Constant border blends toward black across the
    /// edge exactly like OpenCV (each out-of-image tap contributes zero).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Sample(ReadOnlySpan<byte> s, int sw, int sh, int ss, float fx, float fy, BorderMode border,
        out float b, out float g, out float r)
    {
        if (float.IsNaN(fx) || float.IsNaN(fy) || fx <= -1 || fy <= -1 || fx >= sw || fy >= sh)
        {
            if (border == BorderMode.Constant) { b = g = r = 0; return; }
            fx = Math.Clamp(fx, 0, sw - 1); fy = Math.Clamp(fy, 0, sh - 1);
        }
        int x0 = (int)MathF.Floor(fx), y0 = (int)MathF.Floor(fy);
        float ax = fx - x0, ay = fy - y0;
        int x1 = x0 + 1, y1 = y0 + 1;
        bool fast = x0 >= 0 && y0 >= 0 && x1 < sw && y1 < sh;
        if (fast)
        {
            int p00 = y0 * ss + x0 * 3, p10 = p00 + 3, p01 = p00 + ss, p11 = p01 + 3;
            float w00 = (1 - ax) * (1 - ay), w10 = ax * (1 - ay), w01 = (1 - ax) * ay, w11 = ax * ay;
            b = s[p00] * w00 + s[p10] * w10 + s[p01] * w01 + s[p11] * w11;
            g = s[p00 + 1] * w00 + s[p10 + 1] * w10 + s[p01 + 1] * w01 + s[p11 + 1] * w11;
            r = s[p00 + 2] * w00 + s[p10 + 2] * w10 + s[p01 + 2] * w01 + s[p11 + 2] * w11;
            return;
        }
        b = g = r = 0;
        Tap(s, sw, sh, ss, x0, y0, (1 - ax) * (1 - ay), border, ref b, ref g, ref r);
        Tap(s, sw, sh, ss, x1, y0, ax * (1 - ay), border, ref b, ref g, ref r);
        Tap(s, sw, sh, ss, x0, y1, (1 - ax) * ay, border, ref b, ref g, ref r);
        Tap(s, sw, sh, ss, x1, y1, ax * ay, border, ref b, ref g, ref r);
    }

    private static void Tap(ReadOnlySpan<byte> s, int sw, int sh, int ss, int x, int y, float w, BorderMode border,
        ref float b, ref float g, ref float r)
    {
        if ((uint)x >= (uint)sw || (uint)y >= (uint)sh)
        {
            if (border == BorderMode.Constant) return;
            x = Math.Clamp(x, 0, sw - 1); y = Math.Clamp(y, 0, sh - 1);
        }
        int p = y * ss + x * 3;
        b += s[p] * w; g += s[p + 1] * w; r += s[p + 2] * w;
    }

    /// <summary>
    /// Precomputed source indices and weights for resizing one axis from <c>srcLen</c> to <c>dstLen</c> with
    /// OpenCV INTER_LINEAR conventions (half-pixel centres, edge clamped). Cache one per (src, dst) size pair.
    /// </summary>
    public sealed class ResizeTables
    {
        public int SrcLength { get; }
        public int DstLength { get; }
        internal readonly int[] Index0;
        internal readonly float[] Weight1;

        public ResizeTables(int srcLen, int dstLen)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(srcLen, 1);
            ArgumentOutOfRangeException.ThrowIfLessThan(dstLen, 1);
            SrcLength = srcLen; DstLength = dstLen;
            Index0 = new int[dstLen]; Weight1 = new float[dstLen];
            double scale = (double)srcLen / dstLen;
            for (int i = 0; i < dstLen; i++)
            {
                double f = (i + 0.5) * scale - 0.5;
                int i0 = (int)Math.Floor(f);
                double w = f - i0;
                if (i0 < 0) { i0 = 0; w = 0; }
                if (i0 >= srcLen - 1) { i0 = srcLen - 1; w = 0; }
                Index0[i] = i0; Weight1[i] = (float)w;
            }
        }
    }

    /// <summary>
    /// Resizes the whole image straight into a planar float tensor (NCHW, batch 1) with the model's channel
    /// order and normalization: one pass, no intermediate image. Mean/scale normalization only.
    /// </summary>
    public static void ResizeToTensor(BgrImage src, ResizeTables xt, ResizeTables yt, Span<float> tensor,
        ChannelOrder order, Normalization norm) =>
        ResizeToTensor(src, xt, yt, tensor, xt.DstLength, yt.DstLength, order, norm);

    /// <summary>
    /// As above, into the top-left corner of a larger tensor plane of <paramref name="tensorWidth"/> x
    /// <paramref name="tensorHeight"/> (letterboxing); the rest of the tensor is left as it is.
    /// </summary>
    public static void ResizeToTensor(BgrImage src, ResizeTables xt, ResizeTables yt, Span<float> tensor,
        int tensorWidth, int tensorHeight, ChannelOrder order, Normalization norm)
    {
        if (xt.SrcLength != src.Width || yt.SrcLength != src.Height)
            throw new ArgumentException("resize tables were built for another source size");
        if (norm.Kind != NormalizationKind.MeanScale)
            throw new ArgumentException("ResizeToTensor supports mean/scale normalization only");
        int dw = xt.DstLength, dh = yt.DstLength, plane = tensorWidth * tensorHeight;
        if (dw > tensorWidth || dh > tensorHeight) throw new ArgumentException("resized image is larger than the tensor");
        int channels = order == ChannelOrder.Gray ? 1 : 3;
        if (tensor.Length < plane * channels) throw new ArgumentException("tensor too small");

        // Output plane k takes BGR byte (cb[k]); normalization folded into one multiply-add.
        GetChannelMap(order, norm, out int c0, out int c1, out int c2, out float m0, out float m1, out float m2,
            out float s0, out float s1, out float s2);
        ReadOnlySpan<byte> s = src.Pixels;
        int ss = src.Stride, sw1 = src.Width - 1;
        int[] xi = xt.Index0; float[] xw = xt.Weight1;
        Span<float> p0 = tensor[..plane];
        Span<float> p1 = channels == 3 ? tensor.Slice(plane, plane) : default;
        Span<float> p2 = channels == 3 ? tensor.Slice(2 * plane, plane) : default;
        for (int y = 0; y < dh; y++)
        {
            int y0 = yt.Index0[y];
            float wy = yt.Weight1[y];
            int y1 = y0 + (wy > 0 ? 1 : 0);
            ReadOnlySpan<byte> r0 = s.Slice(y0 * ss, ss), r1 = s.Slice(y1 * ss, ss);
            int o = y * tensorWidth;
            for (int x = 0; x < dw; x++)
            {
                int x0 = xi[x];
                float wx = xw[x];
                int a = x0 * 3, bb = (x0 < sw1 ? x0 + 1 : x0) * 3;
                float w00 = (1 - wx) * (1 - wy), w10 = wx * (1 - wy), w01 = (1 - wx) * wy, w11 = wx * wy;
                float vb = r0[a] * w00 + r0[bb] * w10 + r1[a] * w01 + r1[bb] * w11;
                float vg = r0[a + 1] * w00 + r0[bb + 1] * w10 + r1[a + 1] * w01 + r1[bb + 1] * w11;
                float vr = r0[a + 2] * w00 + r0[bb + 2] * w10 + r1[a + 2] * w01 + r1[bb + 2] * w11;
                if (channels == 1)
                {
                    p0[o + x] = (Luma(vb, vg, vr) - m0) * s0;
                }
                else
                {
                    p0[o + x] = (Pick(c0, vb, vg, vr) - m0) * s0;
                    p1[o + x] = (Pick(c1, vb, vg, vr) - m1) * s1;
                    p2[o + x] = (Pick(c2, vb, vg, vr) - m2) * s2;
                }
            }
        }
    }

    /// <summary>
    /// Writes an 8-bit BGR crop into a float tensor in the model's layout, channel order and normalization.
    /// </summary>
    public static void ToTensor(BgrImage img, Span<float> tensor, TensorLayout layout, ChannelOrder order, Normalization norm)
    {
        int w = img.Width, h = img.Height, plane = w * h;
        int channels = order == ChannelOrder.Gray ? 1 : 3;
        if (tensor.Length < plane * channels) throw new ArgumentException("tensor too small");
        ReadOnlySpan<byte> s = img.Pixels;
        GetChannelMap(order, norm, out int c0, out int c1, out int c2, out float m0, out float m1, out float m2,
            out float s0, out float s1, out float s2);

        if (norm.Kind == NormalizationKind.PerImageStandardization)
        {
            // Statistics over the values the model will see (after channel selection).
            double sum = 0, sq = 0;
            int n = plane * channels;
            for (int i = 0, p = 0; i < plane; i++, p += 3)
            {
                if (channels == 1) { float v = Luma(s[p], s[p + 1], s[p + 2]); sum += v; sq += v * v; }
                else { sum += s[p] + s[p + 1] + s[p + 2]; sq += s[p] * s[p] + s[p + 1] * s[p + 1] + s[p + 2] * s[p + 2]; }
            }
            double mean = sum / n, std = Math.Sqrt(Math.Max(0, sq / n - mean * mean));
            std = Math.Max(std, 1.0 / Math.Sqrt(n));
            m0 = m1 = m2 = (float)mean;
            s0 = s1 = s2 = (float)(1.0 / std);
        }

        for (int i = 0, p = 0; i < plane; i++, p += 3)
        {
            float vb = s[p], vg = s[p + 1], vr = s[p + 2];
            if (channels == 1)
            {
                tensor[i] = (Luma(vb, vg, vr) - m0) * s0;
                continue;
            }
            float a = (Pick(c0, vb, vg, vr) - m0) * s0;
            float b = (Pick(c1, vb, vg, vr) - m1) * s1;
            float c = (Pick(c2, vb, vg, vr) - m2) * s2;
            if (layout == TensorLayout.Nchw) { tensor[i] = a; tensor[plane + i] = b; tensor[2 * plane + i] = c; }
            else { int q = i * 3; tensor[q] = a; tensor[q + 1] = b; tensor[q + 2] = c; }
        }
    }

    /// <summary>Mirrors an image left-right into <paramref name="dst"/> (same size).</summary>
    public static void FlipHorizontal(BgrImage src, BgrImage dst)
    {
        if (src.Width != dst.Width || src.Height != dst.Height) throw new ArgumentException("sizes differ");
        int w = src.Width;
        for (int y = 0; y < src.Height; y++)
        {
            ReadOnlySpan<byte> r = src.Row(y);
            Span<byte> o = dst.Row(y);
            for (int x = 0; x < w; x++)
            {
                int a = x * 3, b = (w - 1 - x) * 3;
                o[b] = r[a]; o[b + 1] = r[a + 1]; o[b + 2] = r[a + 2];
            }
        }
    }

    /// <summary>
    /// Sharpness as the variance of the 4-neighbour Laplacian of luminance (higher = sharper). Scale depends on
    /// crop size, so compare values taken on crops of one size.
    /// </summary>
    public static double LaplacianVariance(BgrImage img)
    {
        int w = img.Width, h = img.Height;
        if (w < 3 || h < 3) return 0;
        ReadOnlySpan<byte> s = img.Pixels;
        int st = img.Stride;
        double sum = 0, sq = 0;
        int n = 0;
        for (int y = 1; y < h - 1; y++)
        {
            for (int x = 1; x < w - 1; x++)
            {
                int p = y * st + x * 3;
                float c = Luma(s, p);
                float lap = Luma(s, p - 3) + Luma(s, p + 3) + Luma(s, p - st) + Luma(s, p + st) - 4 * c;
                sum += lap; sq += lap * lap; n++;
            }
        }
        double mean = sum / n;
        return sq / n - mean * mean;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Luma(ReadOnlySpan<byte> s, int p) => Luma(s[p], s[p + 1], s[p + 2]);

    /// <summary>ITU-R BT.601 luma from B, G, R (OpenCV's BGR2GRAY weights).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Luma(float b, float g, float r) => 0.114f * b + 0.587f * g + 0.299f * r;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Pick(int c, float b, float g, float r) => c == 0 ? b : c == 1 ? g : r;

    private static void GetChannelMap(ChannelOrder order, Normalization norm, out int c0, out int c1, out int c2,
        out float m0, out float m1, out float m2, out float s0, out float s1, out float s2)
    {
        // Index into (B, G, R) for tensor planes 0, 1, 2.
        (c0, c1, c2) = order == ChannelOrder.Rgb ? (2, 1, 0) : (0, 1, 2);
        m0 = norm.Mean[0]; m1 = norm.Mean.Length > 1 ? norm.Mean[1] : m0; m2 = norm.Mean.Length > 2 ? norm.Mean[2] : m0;
        s0 = norm.Scale[0]; s1 = norm.Scale.Length > 1 ? norm.Scale[1] : s0; s2 = norm.Scale.Length > 2 ? norm.Scale[2] : s0;
    }
}
