using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentApi.Migrations.Sqlite
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
                type: "TEXT",
                maxLength: 32,
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "suppressed",
                table: "tasks",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.CreateTable(
                name: "heartbeat",
                columns: table => new
                {
                    id = table.Column<int>(type: "INTEGER", nullable: false),
                    enabled = table.Column<bool>(type: "INTEGER", nullable: false),
                    every_ms = table.Column<long>(type: "INTEGER", nullable: false),
                    agent = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    checklist_json = table.Column<string>(type: "TEXT", nullable: true),
                    workspace = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    active_start = table.Column<string>(type: "TEXT", maxLength: 5, nullable: true),
                    active_end = table.Column<string>(type: "TEXT", maxLength: 5, nullable: true),
                    active_time_zone = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    webhook_url = table.Column<string>(type: "TEXT", nullable: true),
                    next_beat_at = table.Column<long>(type: "INTEGER", nullable: true),
                    last_beat_at = table.Column<long>(type: "INTEGER", nullable: true),
                    last_outcome = table.Column<string>(type: "TEXT", maxLength: 32, nullable: true),
                    last_task_id = table.Column<Guid>(type: "TEXT", nullable: true),
                    version = table.Column<long>(type: "INTEGER", nullable: false)
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
