namespace Kiosk.Host.Mqtt;

/// <summary>
/// A libmosquitto call that failed: the message carries the library's own text (mosquitto_strerror or
/// mosquitto_connack_string), <see cref="ErrorCode"/> its <c>MOSQ_ERR_*</c> code. Never carries a password.
/// </summary>
public sealed class MqttException : Exception
{
    public MqttException(string message, int errorCode, Exception? inner = null) : base(message, inner) => ErrorCode = errorCode;

    /// <summary>The <c>enum mosq_err_t</c> value.</summary>
    public int ErrorCode { get; }
}
