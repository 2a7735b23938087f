using Microsoft.Extensions.Configuration;

namespace Kiosk.Host.Mqtt;

/// <summary>
/// The broker connection; section <c>Mqtt</c> of the settings. <see cref="Validate"/> throws
/// <see cref="SettingsException"/> naming the key. A class, not a record: its text form never shows the password.
/// </summary>
public sealed class MqttOptions
{
    public const string Section = "Mqtt";
    public const int DefaultPort = 1883;
    public const int DefaultTlsPort = 8883;

    /// <summary>Broker host name or address.</summary>
    public required string Host { get; init; }

    /// <summary>Broker port; 1883 plain, 8883 with TLS by convention.</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>The client id, unique per kiosk (the broker drops an older session with the same id).</summary>
    public required string ClientId { get; init; }

    public string? Username { get; init; }

    /// <summary>Never logged, never in an exception message.</summary>
    public string? Password { get; init; }

    /// <summary>PEM CA certificate(s) the broker's certificate must chain to; set to use TLS.</summary>
    public string? CaFile { get; init; }

    /// <summary>PEM client certificate and its unencrypted key, for brokers that require one; both or neither.</summary>
    public string? CertFile { get; init; }
    public string? KeyFile { get; init; }

    /// <summary>MQTT keep-alive, whole seconds, 5 s to 18 h 12 min (65535 s).</summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>311 (MQTT 3.1.1) or 5 (MQTT 5).</summary>
    public int ProtocolVersion { get; init; } = 311;

    /// <summary>First reconnect delay; doubled on each failure up to <see cref="ReconnectMax"/> (whole seconds).</summary>
    public TimeSpan ReconnectMin { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan ReconnectMax { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Last will: published by the broker when the connection ends without DISCONNECT. Null: no will.</summary>
    public string? WillTopic { get; init; }
    public string WillPayload { get; init; } = "";
    public int WillQos { get; init; } = 1;
    public bool WillRetain { get; init; }

    /// <summary>
    /// Largest message copied whole from the network library; a bigger one arrives as its first
    /// <see cref="MqttMessage.TruncatedHeadBytes"/> with <see cref="MqttMessage.Truncated"/> set. 64 KiB to 256 MiB.
    /// </summary>
    public int MaxIncomingBytes { get; init; } = DefaultMaxIncomingBytes;
    public const int DefaultMaxIncomingBytes = 16 * 1024 * 1024;
    /// <summary>MQTT's own limit on a packet (the remaining-length field), 256 MiB less one byte.</summary>
    public const int MaxPacketBytes = 268_435_455;

    public bool UseTls => !string.IsNullOrEmpty(CaFile);

    /// <summary>A copy with this last will (the kiosk's retained <c>offline</c> status).</summary>
    public MqttOptions WithWill(string topic, string payload, int qos, bool retain) =>
        Copy(ClientId, ReconnectMin, ReconnectMax, topic, payload, qos, retain);

    /// <summary>
    /// A copy for a one-off client beside the kiosk's (`kiosk doctor`): its own client id (the kiosk's would push a
    /// running service's session off the broker), its own retry pace, no will.
    /// </summary>
    public MqttOptions ForProbe(string clientId, TimeSpan retry) => Copy(clientId, retry, retry, null, "", 1, false);

    private MqttOptions Copy(string clientId, TimeSpan reconnectMin, TimeSpan reconnectMax, string? willTopic, string willPayload, int willQos,
        bool willRetain) => new()
    {
        Host = Host, Port = Port, ClientId = clientId, Username = Username, Password = Password, CaFile = CaFile, CertFile = CertFile,
        KeyFile = KeyFile, KeepAlive = KeepAlive, ProtocolVersion = ProtocolVersion, ReconnectMin = reconnectMin, ReconnectMax = reconnectMax,
        MaxIncomingBytes = MaxIncomingBytes, WillTopic = willTopic, WillPayload = willPayload, WillQos = willQos, WillRetain = willRetain,
    };

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Host))
            throw new SettingsException($"{Section}:Host is empty; it must name the MQTT broker (e.g. broker.local)");
        if (Port is < 1 or > 65535)
            throw new SettingsException($"{Section}:Port is {Port}; it must be 1-65535 ({DefaultPort} plain, {DefaultTlsPort} TLS)");
        if (string.IsNullOrWhiteSpace(ClientId))
            throw new SettingsException($"{Section}:ClientId is empty; it must be unique per kiosk (e.g. kiosk-frontdoor)");
        if (ClientId.Length > 65535 || ClientId.Any(char.IsControl))
            throw new SettingsException($"{Section}:ClientId must be printable and shorter than 65536 characters");
        if (!string.IsNullOrEmpty(Password) && string.IsNullOrEmpty(Username))
            throw new SettingsException($"{Section}:Password is set but {Section}:Username is empty; MQTT sends a password only with a user name");
        if (UseTls && !File.Exists(CaFile))
            throw new SettingsException($"{Section}:CaFile is {CaFile}, which does not exist");
        if (string.IsNullOrEmpty(CertFile) != string.IsNullOrEmpty(KeyFile))
            throw new SettingsException($"{Section}:CertFile and {Section}:KeyFile go together: set both or neither");
        if (!string.IsNullOrEmpty(CertFile) && !UseTls)
            throw new SettingsException($"{Section}:CertFile is set but {Section}:CaFile is empty; a client certificate needs TLS");
        foreach (var (key, file) in new[] { ("CertFile", CertFile), ("KeyFile", KeyFile) })
            if (!string.IsNullOrEmpty(file) && !File.Exists(file))
                throw new SettingsException($"{Section}:{key} is {file}, which does not exist");
        if (KeepAlive < TimeSpan.FromSeconds(5) || KeepAlive > TimeSpan.FromSeconds(65535) || KeepAlive.Ticks % TimeSpan.TicksPerSecond != 0)
            throw new SettingsException($"{Section}:KeepAlive is {KeepAlive}; it must be whole seconds from 00:00:05 to 18:12:15");
        if (ProtocolVersion is not (311 or 5))
            throw new SettingsException($"{Section}:ProtocolVersion is {ProtocolVersion}; it must be 311 (MQTT 3.1.1) or 5 (MQTT 5)");
        if (ReconnectMin < TimeSpan.FromSeconds(1) || ReconnectMin.Ticks % TimeSpan.TicksPerSecond != 0)
            throw new SettingsException($"{Section}:ReconnectMin is {ReconnectMin}; it must be whole seconds, at least 00:00:01");
        if (ReconnectMax < ReconnectMin || ReconnectMax > TimeSpan.FromHours(1) || ReconnectMax.Ticks % TimeSpan.TicksPerSecond != 0)
            throw new SettingsException($"{Section}:ReconnectMax is {ReconnectMax}; it must be whole seconds from {Section}:ReconnectMin ({ReconnectMin}) to 01:00:00");
        if (WillTopic is not null && (WillTopic.Length == 0 || WillTopic.Contains('+') || WillTopic.Contains('#')))
            throw new SettingsException($"{Section}:WillTopic is '{WillTopic}'; it must be a topic name without wildcards");
        if (WillQos is < 0 or > 2)
            throw new SettingsException($"{Section}:WillQos is {WillQos}; it must be 0, 1 or 2");
        if (MaxIncomingBytes is < MqttMessage.TruncatedHeadBytes or > MaxPacketBytes)
            throw new SettingsException($"{Section}:MaxIncomingBytes is {MaxIncomingBytes}; it must be {MqttMessage.TruncatedHeadBytes} to {MaxPacketBytes} bytes");
    }

    /// <summary>
    /// Mqtt:PasswordFile: the password in a file of its own (owner-only, or a systemd credential), so the settings
    /// files need not hold it. One line; a trailing newline is not part of it.
    /// </summary>
    private static string? ReadPasswordFile(string? path)
    {
        if (path is null) return null;
        try
        {
            return File.ReadAllText(path).TrimEnd('\r', '\n') is { Length: > 0 } p ? p
                : throw new SettingsException($"{Section}:PasswordFile {path} is empty");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SettingsException($"{Section}:PasswordFile {path} cannot be read: {e.Message}");
        }
    }

    /// <summary>Reads section <c>Mqtt</c> and validates it.</summary>
    /// <param name="defaultClientId">used when Mqtt:ClientId is not set</param>
    public static MqttOptions Load(IConfiguration config, string? defaultClientId = null)
    {
        static string? Text(IConfiguration c, string key) => c[$"{Section}:{key}"] is { Length: > 0 } v ? v : null;
        string? ca = Text(config, "CaFile");
        var options = new MqttOptions
        {
            Host = Text(config, "Host") ?? "",
            Port = KioskSettings.Get(config, $"{Section}:Port", ca is null ? DefaultPort : DefaultTlsPort),
            ClientId = Text(config, "ClientId") ?? defaultClientId ?? "",
            Username = Text(config, "Username"),
            Password = Text(config, "Password") ?? ReadPasswordFile(Text(config, "PasswordFile")),
            CaFile = ca,
            CertFile = Text(config, "CertFile"),
            KeyFile = Text(config, "KeyFile"),
            KeepAlive = KioskSettings.Get(config, $"{Section}:KeepAlive", TimeSpan.FromSeconds(30)),
            ProtocolVersion = KioskSettings.Get(config, $"{Section}:ProtocolVersion", 311),
            ReconnectMin = KioskSettings.Get(config, $"{Section}:ReconnectMin", TimeSpan.FromSeconds(1)),
            ReconnectMax = KioskSettings.Get(config, $"{Section}:ReconnectMax", TimeSpan.FromSeconds(60)),
            WillTopic = Text(config, "WillTopic"),
            WillPayload = Text(config, "WillPayload") ?? "",
            WillQos = KioskSettings.Get(config, $"{Section}:WillQos", 1),
            WillRetain = KioskSettings.Get(config, $"{Section}:WillRetain", false),
            MaxIncomingBytes = KioskSettings.Get(config, $"{Section}:MaxIncomingBytes", DefaultMaxIncomingBytes),
        };
        options.Validate();
        return options;
    }
}
