using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Kiosk.Tests.Mqtt;

/// <summary>
/// A private mosquitto broker on free loopback ports: a password listener (<see cref="Port"/>) and a TLS listener
/// (<see cref="TlsPort"/>) whose server certificate chains to a CA made here (<see cref="CaFile"/>); anonymous clients
/// are refused. <see cref="Stop"/> and <see cref="Start"/> again keep the ports. Dispose kills the broker.
/// </summary>
/// <remarks>
/// Made by <see cref="Persistent"/>, the broker keeps sessions and queued messages in a file across restarts, as a broker
/// with durable subscribers must; it writes that file on a graceful stop (<see cref="StopGracefully"/>, SIGTERM) and
/// every few seconds, not on <see cref="Stop"/> (SIGKILL), which loses what it acknowledged since the last save.
/// </remarks>
public sealed class MosquittoBroker : IDisposable
{
    public const string BrokerPath = "/usr/sbin/mosquitto";
    public const string PasswdPath = "/usr/bin/mosquitto_passwd";
    public const string Username = "kiosk";
    public const string Password = "s3cret-Pa55word-never-logged";
    public const string Host = "localhost";

    private readonly string _dir;
    private readonly string _config;
    private Process? _process;

    public MosquittoBroker() : this(persistent: false, extraConfig: "") { }

    /// <summary>A broker that keeps sessions and queued messages across a graceful restart (see the remarks).</summary>
    public static MosquittoBroker Persistent() => new(persistent: true, extraConfig: "");

    /// <param name="extraConfig">lines added to the broker's configuration (e.g. queue limits)</param>
    internal MosquittoBroker(string extraConfig) : this(persistent: false, extraConfig) { }

    // Private: xunit wants one public constructor on a class fixture.
    private MosquittoBroker(bool persistent, string extraConfig)
    {
        if (!File.Exists(BrokerPath) || !File.Exists(PasswdPath))
            throw new InvalidOperationException(
                $"{BrokerPath} or {PasswdPath} is missing: run scripts/setup.sh (it installs the Debian packages mosquitto and libmosquitto1)");
        _dir = Directory.CreateTempSubdirectory("kiosk-mosquitto-").FullName;
        Port = FreePort();
        TlsPort = FreePort();
        CaFile = Path.Combine(_dir, "ca.pem");
        WriteCertificates();
        string passwd = Path.Combine(_dir, "passwd");
        Run(PasswdPath, "-b", "-c", passwd, Username, Password);
        _config = Path.Combine(_dir, "mosquitto.conf");
        File.WriteAllText(_config, $"""
            per_listener_settings false
            allow_anonymous false
            password_file {passwd}
            {(persistent ? Persistence() : "persistence false")}
            user {Environment.UserName}
            log_dest file {LogFile}
            log_type all
            listener {Port} {Host}
            listener {TlsPort} {Host}
            cafile {CaFile}
            certfile {Path.Combine(_dir, "server.pem")}
            keyfile {Path.Combine(_dir, "server.key")}
            {extraConfig}
            """);
        Start();
    }

    /// <summary>
    /// The session store (mosquitto.db in the broker's folder). max_queued_messages 0: a durable subscriber that is
    /// offline or slow during a burst gets every message (the default, 1000, drops the rest: a broker setting an
    /// integrator with durable subscribers must change too).
    /// </summary>
    private string Persistence() => $"""
        persistence true
        persistence_location {_dir}/
        autosave_interval 5
        max_queued_messages 0
        """;

    public int Port { get; }
    public int TlsPort { get; }
    public string CaFile { get; }
    public string LogFile => Path.Combine(_dir, "mosquitto.log");
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts the broker and waits until both ports accept connections.</summary>
    public void Start()
    {
        if (IsRunning) return;
        var psi = new ProcessStartInfo(BrokerPath) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(_config);
        _process = Process.Start(psi) ?? throw new InvalidOperationException($"{BrokerPath} did not start");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!(Accepts(Port) && Accepts(TlsPort)))
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"mosquitto exited with {_process.ExitCode}: {_process.StandardError.ReadToEnd()} {ReadLog()}");
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"mosquitto did not listen on {Port} and {TlsPort} within 15 s: {ReadLog()}");
            Thread.Sleep(50);
        }
    }

    /// <summary>Kills the broker (SIGKILL: clients see the connection drop, as with a crashed or unplugged broker).</summary>
    public void Stop()
    {
        if (_process is null) return;
        if (!_process.HasExited) _process.Kill();
        _process.WaitForExit();
        _process.Dispose();
        _process = null;
    }

    /// <summary>
    /// Freezes the broker (SIGSTOP): connections stay open and clients can still send, but nothing is read or
    /// acknowledged any more. <see cref="Stop"/> then kills it without it ever answering.
    /// </summary>
    public void Pause() => Signal("-STOP");

    /// <summary>Sets a user's password in the broker's password file and makes the running broker reload it (SIGHUP),
    /// as an administrator correcting a password would.</summary>
    public void SetPassword(string user, string password)
    {
        Run(PasswdPath, "-b", Path.Combine(_dir, "passwd"), user, password);
        Signal("-HUP");
    }

    private void Signal(string signal)
    {
        if (_process is not { HasExited: false }) throw new InvalidOperationException("mosquitto is not running");
        using var kill = Process.Start("kill", [signal, _process.Id.ToString(CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill {signal} {_process.Id} failed ({kill.ExitCode})");
    }

    /// <summary>
    /// Stops the broker as systemd does, with SIGTERM, and waits for it to exit: a persistent broker saves its sessions
    /// and queued messages first. Clients see the connection drop (MQTT 3.1.1 has no server-side DISCONNECT).
    /// </summary>
    public void StopGracefully()
    {
        if (_process is null) return;
        if (!_process.HasExited)
        {
            Signal("-TERM");
            if (!_process.WaitForExit(TimeSpan.FromSeconds(15)))
                throw new TimeoutException($"mosquitto did not exit within 15 s of SIGTERM: {ReadLog()}");
        }
        _process.Dispose();
        _process = null;
    }

    public string ReadLog()
    {
        try
        {
            using var s = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return new StreamReader(s).ReadToEnd();
        }
        catch (IOException)
        {
            return "(no broker log)";
        }
    }

    public void Dispose()
    {
        Stop();
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { /* a temp folder left behind is harmless */ }
    }

    private static bool Accepts(int port)
    {
        try
        {
            using var c = new TcpClient();
            c.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>A loopback port nothing listens on (at the moment of asking).</summary>
    internal static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} failed ({p.ExitCode}): {err}");
    }

    /// <summary>A CA and a server certificate for localhost/127.0.0.1/::1 signed by it, made with CertificateRequest (no openssl).</summary>
    private void WriteCertificates()
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caReq = new CertificateRequest("CN=Kiosk test CA", caKey, HashAlgorithmName.SHA256);
        caReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caReq.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caReq.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caReq.PublicKey, false));
        using var ca = caReq.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        req.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        byte[] serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7F;
        using var server = req.Create(ca, now.AddDays(-1), now.AddDays(30), serial);

        File.WriteAllText(CaFile, ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_dir, "server.pem"), server.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_dir, "server.key"), serverKey.ExportPkcs8PrivateKeyPem());
    }
}
