using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentApi.Security;

/// <summary>The body of <c>POST /api/keys</c>.</summary>
public sealed class CreateKeyRequest
{
    /// <summary>1 to 64 characters of <c>A-Z</c>, <c>a-z</c>, <c>0-9</c>, <c>.</c>, <c>_</c> and <c>-</c>.</summary>
    public string? Name { get; set; }

    /// <summary>One or more of <c>read</c>, <c>submit</c> and <c>admin</c>.</summary>
    public List<string>? Scopes { get; set; }
}

/// <summary>A new key: the key itself is shown only in this response.</summary>
public sealed record CreatedKeyResponse(string Name, IReadOnlyList<string> Scopes, string Key);

public static partial class KeyEndpoints
{
    public static IEndpointRouteBuilder MapKeys(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/keys").WithTags("Keys").RequireAuthorization(AuthorizationPolicies.Admin);

        group.MapPost("/", CreateAsync)
            .WithSummary("Create an API key with a name and scopes; the key is shown only in this response.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/", async (ApiKeyStore store, CancellationToken cancellationToken) => TypedResults.Ok(await store.ListAsync(cancellationToken)))
            .WithSummary("List the keys' names and scopes, never the keys.");
        group.MapDelete("/{name}", DeleteAsync)
            .WithSummary("Revoke a stored key at once, on every instance.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        return endpoints;
    }

    private static async Task<Results<Created<CreatedKeyResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        CreateKeyRequest request,
        ApiKeyStore store,
        CancellationToken cancellationToken)
    {
        Dictionary<string, string[]> errors = [];
        if (request.Name is null || !NamePattern().IsMatch(request.Name))
        {
            errors["name"] = ["Must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'."];
        }

        var scopes = request.Scopes ?? [];
        if (scopes.Count == 0 || scopes.Any(scope => !ApiKeyScopes.All.Contains(scope)) || scopes.Distinct().Count() != scopes.Count)
        {
            errors["scopes"] = [$"Must list one or more of {string.Join(", ", ApiKeyScopes.All)}, each once."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The key request is invalid");
        }

        if (store.IsConfigured(request.Name!) || store.Exists(request.Name!))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Key name taken",
                detail: $"A key named '{request.Name}' exists; revoke it first or choose another name.");
        }

        string key;
        try
        {
            key = await store.CreateAsync(request.Name!, scopes, cancellationToken);
        }
        catch (Microsoft.EntityFrameworkCore.DbUpdateException)
        {
            // Another request created the same name first.
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Key name taken",
                detail: $"A key named '{request.Name}' exists; revoke it first or choose another name.");
        }

        return TypedResults.Created($"/api/keys/{request.Name}", new CreatedKeyResponse(request.Name!, scopes, key));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string name, ApiKeyStore store, CancellationToken cancellationToken)
    {
        if (store.IsConfigured(name))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Key set in configuration",
                detail: $"Key '{name}' comes from Auth:ApiKeys; remove it there and restart to revoke it.");
        }

        return await store.RevokeAsync(name, cancellationToken)
            ? TypedResults.NoContent()
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Key not found", detail: $"No stored key is named '{name}'.");
    }

    [GeneratedRegex(@"\A[A-Za-z0-9._-]{1,64}\z")]
    private static partial Regex NamePattern();
}
