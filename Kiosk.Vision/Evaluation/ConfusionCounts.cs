namespace Kiosk.Vision.Evaluation;

/// <summary>Outcome counts of verification decisions at one threshold ("same" = positive).</summary>
public readonly record struct ConfusionCounts(int TruePositives, int FalsePositives, int TrueNegatives, int FalseNegatives)
{
    public int Total => TruePositives + FalsePositives + TrueNegatives + FalseNegatives;

    /// <summary>(TP + TN) / total.</summary>
    public double Accuracy => (double)(TruePositives + TrueNegatives) / Total;

    /// <summary>True accept rate, TP / (TP + FN).</summary>
    public double TrueAcceptRate => (double)TruePositives / (TruePositives + FalseNegatives);

    /// <summary>False accept rate, FP / (FP + TN).</summary>
    public double FalseAcceptRate => (double)FalsePositives / (FalsePositives + TrueNegatives);
}
