namespace Kiosk.Vision.Faces;

/// <summary>
/// Decoding of the Open Model Zoo face models' outputs, as their model cards define them; pure functions over the
/// raw output floats, so they are the same whichever backend ran the model.
/// </summary>
public static class OmzOutputs
{
    /// <summary>Values per detection of an SSD <c>DetectionOutput</c> layer.</summary>
    public const int SsdStride = 7;

    /// <summary>
    /// face-detection-retail-0004/0005 (<c>detection_out</c>, 1x1xNx7): per row <c>[image_id, label, conf, x_min,
    /// y_min, x_max, y_max]</c>, corners normalized to [0,1] of the whole input image (the model resizes the frame,
    /// no letterbox). Rows after the first with <c>image_id</c> &lt; 0 are padding. The layer has already done NMS.
    /// Appends the faces (label <paramref name="faceLabel"/>, score at least <paramref name="minScore"/>) in
    /// <paramref name="imageWidth"/> x <paramref name="imageHeight"/> pixels, clipped to the image, best first; a row
    /// with a non-finite value or an empty box after clipping is skipped.
    /// </summary>
    /// <exception cref="ArgumentException">the output's length is not a multiple of 7</exception>
    public static void DecodeSsd(ReadOnlySpan<float> output, int imageWidth, int imageHeight, float minScore, List<FaceDetection> faces,
        int faceLabel = 1) =>
        DecodeSsd(output, imageWidth, imageHeight, imageWidth, imageHeight, minScore, faces, faceLabel);

    /// <summary>
    /// As above, with the normalized corners scaled by <paramref name="scaleX"/>/<paramref name="scaleY"/> (the
    /// input's size in image pixels, larger than the image when it was letterboxed) and clipped to the image.
    /// </summary>
    public static void DecodeSsd(ReadOnlySpan<float> output, float scaleX, float scaleY, int imageWidth, int imageHeight, float minScore,
        List<FaceDetection> faces, int faceLabel = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(imageHeight);
        if (output.Length % SsdStride != 0)
            throw new ArgumentException($"an SSD detection output has 7 values per row; {output.Length} values is not whole rows", nameof(output));
        int start = faces.Count;
        for (int i = 0; i < output.Length; i += SsdStride)
        {
            var row = output.Slice(i, SsdStride);
            if (row[0] < 0) break; // the end of the valid rows
            float score = row[2];
            if ((int)row[1] != faceLabel || !(score >= minScore)) continue; // !(>=) also drops NaN
            float x1 = row[3] * scaleX, y1 = row[4] * scaleY, x2 = row[5] * scaleX, y2 = row[6] * scaleY;
            if (!float.IsFinite(x1) || !float.IsFinite(y1) || !float.IsFinite(x2) || !float.IsFinite(y2)) continue;
            var box = new BoxF(Math.Clamp(x1, 0, imageWidth), Math.Clamp(y1, 0, imageHeight), Math.Clamp(x2, 0, imageWidth), Math.Clamp(y2, 0, imageHeight));
            if (box.Width <= 0 || box.Height <= 0) continue;
            faces.Add(new FaceDetection(box, score));
        }
        faces.Sort(start, faces.Count - start, ByScoreDescending.Instance);
    }

    /// <summary>
    /// landmarks-regression-retail-0009 (1x10x1x1): <c>(x0, y0, ..., x4, y4)</c> normalized to [0,1] of the face crop
    /// the model was given (resized to 48x48): left eye, right eye, nose tip, left and right mouth corners — the order
    /// of the five-point templates. Writes the points in image pixels, given the crop's box in the image.
    /// </summary>
    /// <exception cref="ArgumentException">not 10 values, a non-finite value, or fewer than 5 points to write</exception>
    public static void DecodeLandmarks0009(ReadOnlySpan<float> output, in BoxF crop, Span<PointF> points)
    {
        if (output.Length != 10) throw new ArgumentException($"landmarks-regression-retail-0009 gives 10 values; got {output.Length}", nameof(output));
        if (points.Length < 5) throw new ArgumentException("five points are written", nameof(points));
        for (int i = 0; i < 10; i++)
            if (!float.IsFinite(output[i])) throw new ArgumentException($"landmark value {i} is {output[i]}", nameof(output));
        for (int p = 0; p < 5; p++)
            points[p] = new PointF(crop.X1 + output[2 * p] * crop.Width, crop.Y1 + output[2 * p + 1] * crop.Height);
    }

    private sealed class ByScoreDescending : IComparer<FaceDetection>
    {
        public static readonly ByScoreDescending Instance = new();
        public int Compare(FaceDetection a, FaceDetection b) => b.Score.CompareTo(a.Score);
    }
}
