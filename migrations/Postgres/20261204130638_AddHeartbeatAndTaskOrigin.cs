using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentApi.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class AddHeartbeatAndTaskOrigin : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "origin",
                table: "tasks",
                type: "character varying(32)",
                maxLength: 32,
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "suppressed",
                table: "tasks",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.CreateTable(
                name: "heartbeat",
                columns: table => new
                {
                    id = table.Column<int>(type: "integer", nullable: false),
                    enabled = table.Column<bool>(type: "boolean", nullable: false),
                    every_ms = table.Column<long>(type: "bigint", nullable: false),
                    agent = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    checklist_json = table.Column<string>(type: "text", nullable: true),
                    workspace = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    active_start = table.Column<string>(type: "character varying(5)", maxLength: 5, nullable: true),
                    active_end = table.Column<string>(type: "character varying(5)", maxLength: 5, nullable: true),
                    active_time_zone = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    webhook_url = table.Column<string>(type: "text", nullable: true),
                    next_beat_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    last_beat_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    last_outcome = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    last_task_id = table.Column<Guid>(type: "uuid", nullable: true),
                    version = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_heartbeat", x => x.id);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "heartbeat");

            migrationBuilder.DropColumn(
                name: "origin",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "suppressed",
                table: "tasks");
        }
    }
}
