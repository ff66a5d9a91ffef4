# Multi-stage build: the SDK image publishes, the ASP.NET runtime image runs as a non-root user.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /source
COPY global.json Directory.Build.props Directory.Packages.props BannedSymbols.txt AgentApi.sln ./
COPY src/AgentApi/AgentApi.csproj src/AgentApi/
RUN dotnet restore src/AgentApi/AgentApi.csproj
COPY . .
RUN dotnet publish src/AgentApi/AgentApi.csproj -c Release -o /app --no-restore

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# The image's built-in unprivileged user (uid 1654); the data folder is the only writable place.
RUN mkdir -p /data && chown 1654:1654 /data
USER 1654
# The last setting gives the shared array pool room for the hub's sends to hundreds of dashboard
# connections (docs/api.md); the runtime reads it from the environment only.
ENV ASPNETCORE_URLS=http://+:8080 \
    Storage__DataDirectory=/data \
    DOTNET_SYSTEM_BUFFERS_SHAREDARRAYPOOL_MAXARRAYSPERPARTITION=4096
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["dotnet", "AgentApi.dll"]
