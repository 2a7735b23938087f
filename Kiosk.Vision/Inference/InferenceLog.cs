using Microsoft.Extensions.Logging;

namespace Kiosk.Vision;

// Event ids 1100-1199: inference backends.
internal static partial class Log
{
    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Model {Model}: running on {Backend} {Device}")]
    public static partial void ModelPlaced(ILogger logger, string model, string backend, string device);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information,
        Message = "Model {Model}: backend auto runs it on {Backend} {Device} ({Why})")]
    public static partial void ModelPlacedAuto(ILogger logger, string model, string backend, string device, string why);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning,
        Message = "Model {Model}: {Requested} cannot be used ({Reason}); running it on {Backend} {Device} instead")]
    public static partial void ModelFellBack(ILogger logger, string model, string requested, string reason, string backend, string device);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Error,
        Message = "Model {Model}: {Failed} failed while running ({Reason}); switched to {Backend} {Device} for the rest of this run (restart the service to go back)")]
    public static partial void ModelFailedOver(ILogger logger, string model, string failed, string reason, string backend, string device);
}
