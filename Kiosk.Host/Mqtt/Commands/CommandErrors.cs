namespace Kiosk.Host.Mqtt.Commands;

/// <summary>The <c>error.code</c> values of a reply (docs/mqtt/commands.md lists when each is given).</summary>
public static class CommandErrors
{
    public const string BadJson = "bad_json";
    public const string NotAnObject = "not_an_object";
    public const string WrongType = "wrong_type";
    public const string MissingField = "missing_field";
    public const string UnknownField = "unknown_field";
    public const string BadValue = "bad_value";
    public const string UnknownCommand = "unknown_command";
    public const string UnsupportedSchema = "unsupported_schema";
    public const string PayloadTooLarge = "payload_too_large";
    public const string ImageTooLarge = "image_too_large";
    public const string ImageUndecodable = "image_undecodable";
    public const string NoFace = "no_face";
    public const string QualityTooLow = "quality_too_low";
    public const string AlreadyEnrolled = "already_enrolled";
    public const string UnknownPerson = "unknown_person";
    public const string Conflict = "conflict";
    public const string SignatureRequired = "signature_required";
    public const string BadSignature = "bad_signature";
    public const string Stale = "stale";
    public const string DoorDisabled = "door_disabled";
    public const string Internal = "internal";

    /// <summary>Every code, for the documentation test and the reply schema.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        BadJson, NotAnObject, WrongType, MissingField, UnknownField, BadValue, UnknownCommand, UnsupportedSchema, PayloadTooLarge,
        ImageTooLarge, ImageUndecodable, NoFace, QualityTooLow, AlreadyEnrolled, UnknownPerson, Conflict, SignatureRequired,
        BadSignature, Stale, DoorDisabled, Internal,
    ];

    /// <summary>Refusals of who sent the command or when, rather than what it says: logged as possible attacks.</summary>
    internal static bool IsAuthentication(string code) => code is SignatureRequired or BadSignature or Stale;

    /// <summary>Outcomes of a well-formed, authentic command (the gallery or the door said no): logged like successes.</summary>
    internal static bool IsOutcome(string code) =>
        code is NoFace or QualityTooLow or AlreadyEnrolled or UnknownPerson or Conflict or DoorDisabled or ImageTooLarge or ImageUndecodable;
}

/// <summary>A command refused: <see cref="Code"/> is one of <see cref="CommandErrors"/>, the message names the field and says why.</summary>
public sealed class CommandException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}
