namespace Kiosk.Vision.Evaluation;

/// <summary>One labelled verification pair from a pairs list.</summary>
/// <param name="FileA">File name of the first image, without any directory prefix.</param>
/// <param name="FileB">File name of the second image, without any directory prefix.</param>
/// <param name="Same"><see langword="true"/> when both images show the same person.</param>
public sealed record FacePair(string FileA, string FileB, bool Same);
