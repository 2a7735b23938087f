using Microsoft.Data.Sqlite;

namespace Kiosk.Host.Storage;

/// <summary>Parameterised SQLite statements, shared by the gallery and the event log.</summary>
internal static class Sql
{
    public static SqliteCommand Command(SqliteConnection db, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    public static int Execute(SqliteConnection db, SqliteTransaction? tx, string sql, params (string, object?)[] parameters)
    {
        using var cmd = Command(db, tx, sql, parameters);
        return cmd.ExecuteNonQuery();
    }

    public static object? ScalarObject(SqliteConnection db, SqliteTransaction? tx, string sql, params (string, object?)[] parameters)
    {
        using var cmd = Command(db, tx, sql, parameters);
        object? value = cmd.ExecuteScalar();
        return value is DBNull ? null : value;
    }

    public static T Scalar<T>(SqliteConnection db, SqliteTransaction? tx, string sql, params (string, object?)[] parameters) =>
        ScalarObject(db, tx, sql, parameters) is { } value ? (T)value : default!;
}
