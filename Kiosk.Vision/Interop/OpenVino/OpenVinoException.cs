namespace Kiosk.Vision.Interop.OpenVino;

/// <summary>
/// Every failure OpenVINO reports: its ov_status_e and its own message (the C++ exception text from
/// ov_get_last_err_msg where the release has it, 2023.x and later; else ov_get_error_info's text for the status).
/// </summary>
public sealed class OpenVinoException : Exception
{
    public OvStatus Status { get; }

    /// <summary>The C function that failed, e.g. "ov_core_compile_model".</summary>
    public string Operation { get; }

    internal OpenVinoException(OvStatus status, string operation, string message)
        : base($"OpenVINO {operation}: [{status}] {message}")
    {
        Status = status;
        Operation = operation;
    }
}

/// <summary>
/// The OpenVINO library cannot be found or loaded. The message lists every place tried, why each was refused, and how
/// to install OpenVINO (README, section OpenVINO).
/// </summary>
public sealed class OpenVinoNotFoundException(string message, Exception? inner = null) : Exception(message, inner);
